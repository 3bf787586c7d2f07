"""Text hygiene: the one place that decides which text may enter the system.

Every name, description, subject, address line and email address that reaches a
statement, a PDF or an email header comes through here, from the import, from
``org set`` and from adjustments alike, so the same text is accepted or refused
everywhere (docs/import-format.md "Text").

Refused, with a reason that names the offending character by code point:

* control characters (NUL, BEL, ESC, ...). Single-line text allows none at all;
  multi-line text allows tab and line feed (and carriage return before a line feed);
* bidirectional controls (U+202A-U+202E, U+2066-U+2069, LRM/RLM/ALM): they make
  text display differently from what it says (an invoice line or a filename can be
  made to read backwards);
* line and paragraph separators (U+2028, U+2029), the byte-order mark / zero-width
  no-break space (U+FEFF), non-characters (U+FFFE, U+FFFF, ...) and lone surrogates
  (which JSON can spell as ``\\ud800`` and no UTF-8 writer can store);
* text longer than its field allows, counted in code points;
* required text that is empty or only white space.

Text is otherwise kept exactly as given (no trimming, no normalisation): what was
imported is what is stored and printed.
"""

from __future__ import annotations

import re
import unicodedata

from psa_billing.domain.errors import InvalidTextError

# Sane maximum lengths, in code points (docs/import-format.md "Text"). The import
# schema's own limits are kept where it has them.
NAME_MAX = 200
CODE_MAX = 40
SUBJECT_MAX = 300
USER_ID_MAX = 64
DESCRIPTION_MAX = 1000
ADDRESS_LINE_MAX = 100
ADDRESS_LINES_MAX = 6
EMAIL_MAX = 254
REASON_MAX = 1000
ACTOR_MAX = 200
LINE_DESCRIPTION_MAX = 300

_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_SEPARATORS = "\u2028\u2029\ufeff"
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
_SURROGATES = "\ud800-\udfff"
# One character class searched at C speed: imports hold many thousands of texts.
_REFUSED_SINGLE_LINE = re.compile(
    f"[\x00-\x1f\x7f-\x9f{_BIDI_CONTROLS}{_SEPARATORS}{_NONCHARACTERS}{_SURROGATES}]"
)
# Multi-line text: tab and line feed are fine, and carriage return before a line feed
# (notes typed on Windows).
_REFUSED_MULTILINE = re.compile(
    f"\r(?!\n)|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    f"{_BIDI_CONTROLS}{_SEPARATORS}{_NONCHARACTERS}{_SURROGATES}]"
)


def _why(char: str) -> str:
    category = unicodedata.category(char)
    if category == "Cc":
        return "a control character"
    if category == "Cs":
        return "a lone surrogate (not a character)"
    if char in "\u2028\u2029\ufeff":
        return "an invisible separator"
    if category == "Cf":
        return "a bidirectional control character"
    return "a Unicode non-character"


def first_bad_character(value: str, *, multiline: bool = False) -> str | None:
    """The reason the first refused character of ``value`` is refused, or None."""
    pattern = _REFUSED_MULTILINE if multiline else _REFUSED_SINGLE_LINE
    found = pattern.search(value)
    if found is None:
        return None
    char = found.group()
    return f"contains {_why(char)} (U+{ord(char):04X}) at position {found.start() + 1}"


def clean_text(
    value: object,
    *,
    max_length: int,
    required: bool = True,
    multiline: bool = False,
) -> str:
    """``value`` if it is acceptable text for a field, else ``InvalidTextError``.

    ``required``: at least one character that is not white space.
    ``multiline``: tab and line breaks are allowed (descriptions, notes).
    """
    if not isinstance(value, str):
        raise InvalidTextError("must be text")
    if len(value) > max_length:
        raise InvalidTextError(f"is {len(value)} characters long; at most {max_length} allowed")
    problem = first_bad_character(value, multiline=multiline)
    if problem is not None:
        raise InvalidTextError(problem)
    if required and not value.strip():
        raise InvalidTextError("must not be empty")
    return value


def clean_email(value: object) -> str:
    """A billing or sender address that SES can deliver to and no header can be forged with.

    Validated with email-validator (RFC 5322 addr-spec, no display name, no quoted local
    part, no IP-literal domain, no CR/LF). Also refused: RFC 2047 encoded words (``=?``
    ... ``?=``, which some mail clients decode into a different address when shown), and
    non-ASCII characters: SES takes only 7-bit local parts and punycode domains, so an
    internationalised domain must be written as ``xn--...``. The address is kept as
    written.
    """
    if not isinstance(value, str):
        raise InvalidTextError("must be an email address written as text")
    if len(value) > EMAIL_MAX:
        raise InvalidTextError(f"is {len(value)} characters long; at most {EMAIL_MAX} allowed")
    problem = first_bad_character(value)
    if problem is not None:
        raise InvalidTextError(problem)
    if "=?" in value and "?=" in value:
        raise InvalidTextError("must not contain an encoded word (=?...?=)")
    if not value.isascii():
        raise InvalidTextError(
            "must be plain ASCII (write an international domain in its xn-- form)"
        )
    # Imported here, not at the top: email-validator takes ~50 ms to import and every
    # function loads this module (through adjustments), while only imports and settings
    # changes check addresses (the cold-start budget, tests/unit/test_cold_start.py).
    from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415

    try:
        validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidTextError(f"is not an email address like ap@example.com: {exc}") from None
    return value


def printable(value: str, limit: int = 60) -> str:
    """``value`` made safe to echo in an error message: non-printable characters escaped
    (``repr`` style) and long text cut, so a refused value cannot spoof or flood the
    message that refuses it."""
    shown = value if len(value) <= limit else value[:limit] + "..."
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode("ascii")
        for ch in shown
    )
