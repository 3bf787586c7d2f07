"""A statement as a raw MIME email (text + HTML, the PDF attached), and the short notice
that a sent statement is void. Pure: no clock, no I/O.

The raw bytes are what SES ``SendRawEmail`` takes (docs/billing-rules.md "Delivery").

Headers are safe by construction, not by filtering what the stdlib makes of them:

* addresses must be exactly one plain address each (``UnsafeHeaderError`` otherwise);
* From, To, Reply-To and Subject are written here, byte for byte: every display name and
  the subject are RFC 2047 encoded words (base64 UTF-8), so no character a customer or
  an MSP typed (commas, quotes, ``<``, CR/LF, ``=?...?=`` sequences) is ever read as
  header syntax. Python's ``email`` is not trusted with them: its folding of long
  display names drops the quotes, and it decodes encoded words inside quoted strings;
* the finished message is parsed back, and its From, To, Reply-To, Cc and Bcc must be
  exactly the intended addresses (and display names, else the name is left out), or
  ``UnsafeHeaderError`` is raised and the caller marks the statement instead of sending.

Figures are written as in the PDF (``render.formatting``, the view's locale), each
amount with its currency code.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import threading
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path, PurePath
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from psa_billing.domain.errors import UnsafeHeaderError
from psa_billing.render.view import StatementView, quantity_label
from psa_billing.render.wording import change_sentence, revision_sentence

__all__ = [
    "UnsafeHeaderError",
    "build_statement_email",
    "build_void_notice_email",
    "pdf_filename_for",
    "statement_subject",
    "void_notice_subject",
]

TEMPLATE_DIR = Path(__file__).parent / "templates"
PREVIEW_LINES = 10  # lines listed in the email body; the PDF has them all

_BREAKS = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
_WORD_BYTES = 42  # UTF-8 bytes per encoded word: 56 base64 characters, 68 in all (<= 75)
_ADDRESS_HEADERS = ("From", "To", "Reply-To", "Cc", "Bcc", "Sender")


def build_statement_email(
    view: StatementView,
    *,
    sender: str,
    pdf: bytes,
    pdf_filename: str,
    sent_at: datetime | None = None,
    message_id: str | None = None,
) -> bytes:
    """The raw MIME message (CRLF line ends) that sends ``view``'s PDF to its billing email.

    ``sender`` is a plain address; the org name becomes its display name. ``sent_at``
    fills the Date header (pass the use case's clock; default: the issue date, 00:00
    UTC, so that output is deterministic). ``message_id`` defaults to one derived from
    the statement, its revision, ``sent_at`` and the PDF.
    """
    filename = _safe_filename(pdf_filename or pdf_filename_for(view))
    context = _context(view, filename)
    return _message(
        view,
        sender=sender,
        subject=statement_subject(view),
        templates=("statement_email.txt.j2", "statement_email.html.j2"),
        context=context,
        attachment=(pdf, filename),
        sent_at=sent_at,
        message_id=message_id,
        id_salt=hashlib.sha256(pdf).hexdigest(),
    )


def build_void_notice_email(
    view: StatementView,
    *,
    sender: str,
    sent_at: datetime | None = None,
    message_id: str | None = None,
    pdf: bytes | None = None,
    pdf_filename: str = "",
) -> bytes:
    """A short message telling the customer that a statement they were sent is void and
    nothing is due on it. ``view`` is the void statement (``void_on`` set); ``pdf`` (its
    PDF with the VOID stamp) is attached when given."""
    if not view.is_void:
        raise ValueError(f"statement {view.statement_id} is not void")
    filename = _safe_filename(pdf_filename or pdf_filename_for(view))
    context = _context(view, filename)
    return _message(
        view,
        sender=sender,
        subject=void_notice_subject(view),
        templates=("void_notice.txt.j2", "void_notice.html.j2"),
        context=context,
        attachment=(pdf, filename) if pdf is not None else None,
        sent_at=sent_at,
        message_id=message_id,
        id_salt="void",
    )


def statement_subject(view: StatementView) -> str:
    what = "Revised statement" if view.is_revised else "Statement"
    return one_line(f"{what} {view.number} for {view.period_label} from {view.org.name}")


def void_notice_subject(view: StatementView) -> str:
    return one_line(f"Void: statement {view.number} from {view.org.name} — nothing to pay")


def pdf_filename_for(view: StatementView) -> str:
    """The attachment's name: the statement number (``KW-2026-000123.pdf``)."""
    stem = re.sub(r"[^\w.-]+", "-", one_line(view.number), flags=re.UNICODE).strip("-.")
    return f"{stem or 'statement'}.pdf"


def one_line(text: str) -> str:
    """Free text made fit for one line: line breaks and controls become single spaces;
    lone surrogates (not encodable) become U+FFFD."""
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return _SPACES.sub(" ", _BREAKS.sub(" ", text)).strip()


# --- the message ------------------------------------------------------------------------


def _message(
    view: StatementView,
    *,
    sender: str,
    subject: str,
    templates: tuple[str, str],
    context: dict[str, Any],
    attachment: tuple[bytes, str] | None,
    sent_at: datetime | None,
    message_id: str | None,
    id_salt: str,
) -> bytes:
    from_addr = _address(sender, "sender")
    to_addr = _address(view.billing_email, "billing email")
    reply_to = _address(view.org.email, "org email") if view.org.email.strip() else None
    when = sent_at or datetime(
        view.issue_date.year, view.issue_date.month, view.issue_date.day, tzinfo=UTC
    )
    if when.tzinfo is None:
        raise ValueError("sent_at must be timezone-aware")
    msg_id = _message_id(message_id, view, when, id_salt, from_addr)

    # Everything but the headers that carry people's text: the stdlib does MIME well.
    msg = EmailMessage(policy=policy.SMTP)
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = msg_id
    msg.set_content(_template(templates[0]).render(context), cte="quoted-printable")
    msg.add_alternative(
        _template(templates[1]).render(context), subtype="html", cte="quoted-printable"
    )
    if attachment is not None:
        data, filename = attachment
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    # Fixed boundaries (the stdlib draws random ones) keep the output deterministic.
    # "=_" never occurs in quoted-printable or base64 bodies, so they cannot collide.
    tag = hashlib.sha256(msg_id.encode()).hexdigest()[:24]
    msg.set_boundary(f"=_mixed_{tag}" if attachment is not None else f"=_alt_{tag}")
    for part in msg.walk():
        if part is not msg:
            del part["MIME-Version"]  # the stdlib repeats it on sub-parts
        if part is not msg and part.get_content_type() == "multipart/alternative":
            part.set_boundary(f"=_alt_{tag}")
    body = msg.as_bytes()

    org_name = one_line(view.org.name)
    people = {"From": (org_name, from_addr), "To": (one_line(view.customer_name), to_addr)}
    if reply_to:
        people["Reply-To"] = (org_name, reply_to)
    for keep_names in (True, False):
        lines = [
            _address_header(field, name if keep_names else "", addr)
            for field, (name, addr) in people.items()
        ]
        lines.append(_text_header("Subject", subject))
        raw = "".join(lines).encode("ascii") + body
        problem = _check(raw, people, subject, keep_names)
        if problem is None:
            return raw
    raise UnsafeHeaderError(f"statement {view.statement_id}: {problem}")


def _encoded_words(text: str) -> list[str]:
    """``text`` as RFC 2047 base64 encoded words, cut between characters."""
    return [f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in _chunks(text)]


def _chunks(text: str) -> list[bytes]:
    """``text`` in UTF-8 pieces of at most ``_WORD_BYTES``, cut between characters."""
    words: list[bytes] = []
    chunk = b""
    for char in text:
        data = char.encode("utf-8")
        if len(chunk) + len(data) > _WORD_BYTES:
            words.append(chunk)
            chunk = b""
        chunk += data
    if chunk:
        words.append(chunk)
    return words


def _address_header(field: str, display_name: str, addr: str) -> str:
    words = _encoded_words(display_name) if display_name else []
    return f"{field}: " + "\r\n ".join([*words, f"<{addr}>"]) + "\r\n"


def _text_header(field: str, text: str) -> str:
    return f"{field}: " + "\r\n ".join(_encoded_words(text) or [""]) + "\r\n"


def _check(
    raw: bytes, people: dict[str, tuple[str, str]], subject: str, with_names: bool
) -> str | None:
    """What is wrong with the finished message's address headers, or None."""
    parsed = message_from_bytes(raw, policy=policy.default)
    for field in _ADDRESS_HEADERS:
        values = parsed.get_all(field) or []
        if field not in people:
            if values:
                return f"the message has an unexpected {field} header"
            continue
        name, addr = people[field]
        if len(values) != 1:
            return f"the message has {len(values)} {field} headers"
        header = values[0]
        groups: tuple[Any, ...] = tuple(getattr(header, "groups", ()))
        addresses = [(a.display_name, a.addr_spec) for g in groups for a in g.addresses]
        if len(groups) != 1 or groups[0].display_name is not None:
            return f"{field} parses as an address group"
        if [a for _, a in addresses] != [addr]:
            return f"{field} parses as {[a for _, a in addresses]!r}, not [{addr!r}]"
        # The stdlib reads the folding space between two encoded words of a name as a
        # space (RFC 2047 decoders drop it); either reading is the name as written.
        readings = {name, " ".join(c.decode("utf-8") for c in _chunks(name))}
        if with_names and addresses[0][0] not in readings:
            return f"{field}'s display name does not read back as written"
    if str(parsed["Subject"]) != subject:
        return "the subject does not read back as written"
    return None


def _address(value: str, what: str) -> str:
    """Exactly one plain address, or ``UnsafeHeaderError``. IDN domains are punycoded."""
    if _BREAKS.search(value):
        raise UnsafeHeaderError(f"{what} contains a line break or control character")
    text = value.strip()
    try:
        parsed = Address(addr_spec=text)
    except Exception as exc:  # the parser raises several unrelated types
        raise UnsafeHeaderError(f"{what} {text!r} is not a single email address") from exc
    # Address() quietly drops comments and such; insist that what we parsed is what we got.
    if parsed.addr_spec != text or not parsed.username or not parsed.domain:
        raise UnsafeHeaderError(f"{what} {text!r} is not a single plain email address")
    if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+", parsed.username):
        raise UnsafeHeaderError(f"{what} {text!r} needs quoting; refused")
    if not parsed.domain.isascii():
        try:
            domain = parsed.domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise UnsafeHeaderError(f"{what} has an invalid domain") from exc
        return f"{parsed.username}@{domain}"
    return text


def _safe_filename(name: str) -> str:
    """A bare file name: no directories, no controls; RFC 2231 handles the rest."""
    base = PurePath(one_line(name).replace("\\", "/")).name.strip().lstrip(".")
    return base or "statement.pdf"


def _message_id(
    given: str | None, view: StatementView, when: datetime, salt: str, sender: str
) -> str:
    if given is not None:
        if _BREAKS.search(given) or not re.fullmatch(r"<[^<>\s@]+@[^<>\s@]+>", given.strip()):
            raise UnsafeHeaderError("message_id must look like <left@right>")
        return given.strip()
    digest = hashlib.sha256(
        "\0".join((view.statement_id, str(view.revision), when.isoformat(), salt)).encode()
    ).hexdigest()[:24]
    domain = sender.rpartition("@")[2].strip("[]") or "psa-billing.invalid"
    return f"<statement.{digest}@{domain}>"


# --- the bodies -------------------------------------------------------------------------


def _lines_of(text: str) -> list[str]:
    return [one_line(x) for x in text.replace("\r\n", "\n").split("\n") if x.strip()]


def _context(view: StatementView, filename: str) -> dict[str, Any]:
    fmt = view.fmt
    lines = [
        {
            "description": one_line(line.description),
            "quantity": quantity_label(line),
            "amount": fmt.money_with_code(line.amount),
        }
        for line in view.lines[:PREVIEW_LINES]
    ]
    changes = [change_sentence(view, c) for c in view.changes]
    org = view.org
    return {
        "subject": statement_subject(view),
        "org_name": one_line(org.name),
        "org_legal_name": one_line(org.legal_name) if org.legal_name != org.name else "",
        "org_email": one_line(org.email),
        "org_address_lines": [one_line(x) for x in org.address_lines if x.strip()],
        "org_tax": (
            f"{one_line(org.tax_label)} registration {one_line(org.tax_number)}"
            if org.tax_number.strip()
            else ""
        ),
        "customer_name": one_line(view.customer_name),
        "number": one_line(view.number),
        "period": view.period_label,
        "issue_date": fmt.date(view.issue_date),
        "due_date": fmt.date(view.due_date) if view.due_date else "",
        "currency": view.currency,
        "subtotal": fmt.money_with_code(view.subtotal),
        "tax_label": view.tax_label,
        "tax": fmt.money_with_code(view.tax),
        "total": fmt.money_with_code(view.total),
        "amount_due": fmt.money_with_code(view.amount_due),
        "line_count": len(view.lines),
        "lines": lines,
        "more_lines": max(0, len(view.lines) - PREVIEW_LINES),
        "revised": revision_sentence(view) if view.is_revised else "",
        "changes": [{"text": one_line(t), "amount": a} for t, a in changes]
        if view.is_revised
        else [],
        "payment_lines": _lines_of(org.payment_instructions),
        "payment_link": one_line(org.payment_link),
        "footer_note": one_line(org.footer_note),
        "void_on": fmt.date(view.void_on) if view.void_on else "",
        "previous_total": (
            fmt.money_with_code(view.previous_total) if view.previous_total is not None else ""
        ),
        "pdf_filename": filename,
    }


_COMPILE_LOCK = threading.Lock()


def _template(name: str) -> Template:
    """A compiled template (compiled once, then cached by jinja2). Compiled under a lock:
    CPython 3.11 before 3.11.8 can fail compiling in two threads at once ("AST
    constructor recursion depth mismatch"), which the local stack's concurrent send
    steps hit."""
    with _COMPILE_LOCK:
        return _templates().get_template(name)


@functools.cache
def _templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        # Customer-supplied text (names, descriptions) lands in the HTML: escape it all.
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
        auto_reload=False,
    )
