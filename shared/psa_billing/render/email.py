"""A statement as a raw MIME email (text + HTML, the PDF attached). Pure: no clock, no I/O.

The raw bytes are what SES ``SendRawEmail`` takes (billing-rules.md "Delivery").
Header injection is closed at the edges: an address with CR, LF or NUL in it, or one
that is not exactly one plain address, is refused (``UnsafeHeaderError``); names and the
subject are flattened to one line, and display names go through
``email.headerregistry.Address``, which quotes commas and quotes and encodes non-ASCII.
"""

from __future__ import annotations

import functools
import hashlib
import re
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path, PurePath
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from psa_billing.domain.errors import BillingError
from psa_billing.render.view import StatementView

__all__ = ["UnsafeHeaderError", "build_statement_email", "statement_subject"]

TEMPLATE_DIR = Path(__file__).parent / "templates"
PREVIEW_LINES = 10  # lines listed in the email body; the PDF has them all

_BREAKS = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_SPACES = re.compile(r"\s+")


class UnsafeHeaderError(BillingError):
    """A header value that is not safe to send: an address containing CR, LF or NUL,
    or one that is not exactly one plain address (``a@b.example``)."""


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
    from_addr = _address(sender, "sender")
    to_addr = _address(view.billing_email, "billing email")
    reply_to = _address(view.org.email, "org email") if view.org.email.strip() else None
    when = sent_at or datetime(
        view.issue_date.year, view.issue_date.month, view.issue_date.day, tzinfo=UTC
    )
    if when.tzinfo is None:
        raise ValueError("sent_at must be timezone-aware")

    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address(display_name=one_line(view.org.name), addr_spec=from_addr)
    msg["To"] = Address(display_name=one_line(view.customer_name), addr_spec=to_addr)
    if reply_to:
        msg["Reply-To"] = Address(display_name=one_line(view.org.name), addr_spec=reply_to)
    msg["Subject"] = statement_subject(view)
    msg["Date"] = format_datetime(when)
    msg_id = _message_id(message_id, view, when, pdf, from_addr)
    msg["Message-ID"] = msg_id

    filename = _safe_filename(pdf_filename)
    context = _context(view, filename, reply_to or "")
    env = _templates()
    msg.set_content(
        env.get_template("statement_email.txt.j2").render(context), cte="quoted-printable"
    )
    msg.add_alternative(
        env.get_template("statement_email.html.j2").render(context),
        subtype="html",
        cte="quoted-printable",
    )
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    # Fixed boundaries (the stdlib draws random ones) keep the output deterministic.
    # "=_" never occurs in quoted-printable or base64 bodies, so they cannot collide.
    tag = hashlib.sha256(msg_id.encode()).hexdigest()[:24]
    msg.set_boundary(f"=_mixed_{tag}")
    for part in msg.walk():
        if part is not msg:
            del part["MIME-Version"]  # the stdlib repeats it on sub-parts
        if part.get_content_type() == "multipart/alternative":
            part.set_boundary(f"=_alt_{tag}")
    return msg.as_bytes()


def statement_subject(view: StatementView) -> str:
    subject = f"Your {view.period_label} statement from {one_line(view.org.name)}"
    return f"Updated: {subject}" if view.revision > 0 else subject


def one_line(text: str) -> str:
    """Free text made fit for a header: line breaks and controls become single spaces."""
    return _SPACES.sub(" ", _BREAKS.sub(" ", text)).strip()


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
    if not parsed.domain.isascii():
        try:
            domain = parsed.domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise UnsafeHeaderError(f"{what} has an invalid domain") from exc
        return f"{parsed.username}@{domain}"
    if not parsed.username.isascii():
        raise UnsafeHeaderError(f"{what} {text!r} has a non-ASCII local part")
    return text


def _safe_filename(name: str) -> str:
    """A bare file name: no directories, no controls; RFC 2231 handles the rest."""
    base = PurePath(one_line(name).replace("\\", "/")).name.strip().lstrip(".")
    return base or "statement.pdf"


def _message_id(
    given: str | None, view: StatementView, when: datetime, pdf: bytes, sender: str
) -> str:
    if given is not None:
        if _BREAKS.search(given) or not re.fullmatch(r"<[^<>\s@]+@[^<>\s@]+>", given.strip()):
            raise UnsafeHeaderError("message_id must look like <left@right>")
        return given.strip()
    digest = hashlib.sha256(
        "\0".join(
            (
                view.statement_id,
                str(view.revision),
                when.isoformat(),
                hashlib.sha256(pdf).hexdigest(),
            )
        ).encode()
    ).hexdigest()[:24]
    domain = sender.rpartition("@")[2].strip("[]") or "psa-billing.invalid"
    return f"<statement.{digest}@{domain}>"


def _context(view: StatementView, filename: str, org_email: str) -> dict[str, Any]:
    lines = [
        {"description": one_line(line.description), "amount": view.money(line.amount)}
        for line in view.lines[:PREVIEW_LINES]
    ]
    return {
        "subject": statement_subject(view),
        "org_name": one_line(view.org.name),
        "org_email": org_email,
        "org_address_lines": [one_line(x) for x in view.org.address_lines if x.strip()],
        "customer_name": one_line(view.customer_name),
        "number": one_line(view.number),
        "period": view.period_label,
        "issue_date": view.issue_date_label,
        "currency": view.currency,
        "subtotal": view.money(view.subtotal),
        "tax_label": view.tax_label,
        "tax": view.money(view.tax),
        "total": view.money(view.total),
        "line_count": len(view.lines),
        "lines": lines,
        "more_lines": max(0, len(view.lines) - PREVIEW_LINES),
        "revision": view.revision,
        "pdf_filename": filename,
    }


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
