"""The billing import document (one organisation) as pydantic models of our own.

They mirror the project's import format (docs/import.schema.json, a backwards-
compatible extension of the shared billing-import schema; docs/import-format.md)
field for field: camelCase names, no unknown fields, no ``null`` where the format has
no null. Field types come from ``psa_billing.domain.fields``, shared with the
organisation settings, so a name or an email address is judged the same everywhere.

Reading is bounded (docs/import-format.md "Reading"): the JSON text is parsed once,
with nesting at most ``MAX_DEPTH`` deep checked before the parser recurses, integers
of at most ``MAX_NUMBER_DIGITS`` digits checked before Python converts them, and
numbers with an exponent refused at the field that holds them. Money is read as an
exact ``Decimal`` (``parse_float``), never the float next to it.

Cross-record rules (unknown references, overlapping contracts, billed entries)
are not checked here; ``psa_billing.ingest.validate`` does that for the whole
document.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StrictBool,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from psa_billing.domain.fields import (
    AddressLines,
    Code,
    CurrencyCode,
    Date,
    Description,
    Email,
    Hours,
    Id,
    LocaleTag,
    Minutes,
    Money,
    Name,
    NotNull,
    PaymentDays,
    RefusedNumber,
    Subject,
    TaxNumber,
    TaxPercent,
    Text40,
    Text64,
    Text200,
)
from psa_billing.domain.model import (
    BillingSettings,
    Contract,
    Customer,
    CustomerProfile,
    Device,
    Project,
    Ticket,
    TimeEntry,
)
from psa_billing.domain.org import OrgSettingsUpdate
from psa_billing.domain.text import printable

# ---------------------------------------------------------------- JSON reading

# The format is at most 5 levels deep (document > customers > customer > billing or
# addressLines); 32 leaves room for growth and stays far below the parser's recursion.
MAX_DEPTH = 32
# No figure within the limits needs more than 13 integer digits; 30 is generous and far
# below Python's int/str conversion limit (4300 digits), which raises a bare ValueError.
MAX_NUMBER_DIGITS = 30
# A whole JSON string (the "unrolled loop" form: linear, fast on runs of plain
# characters), a bracket, or a quote that opens a string never closed. Brackets inside
# strings are not structure.
_NESTING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]|"')


class MalformedJsonError(ValueError):
    """The import is not one well-formed JSON text (``line``/``column`` when known)."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"invalid JSON{where}: {reason}")
        self.line = line
        self.column = column


def _object_without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads would silently keep the last of two equal keys; for billing data an
    # ambiguous record is refused instead.
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise MalformedJsonError(f"duplicate key {printable(key)!r} in one object")
        obj[key] = value
    return obj


def _no_constant(name: str) -> Any:
    raise MalformedJsonError(f"{name} is not a JSON number")


def _integer(text: str) -> int | RefusedNumber:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        return RefusedNumber(f"has more than {MAX_NUMBER_DIGITS} digits")
    return int(text)


def _fraction(text: str) -> Decimal | RefusedNumber:
    if "e" in text or "E" in text:
        return RefusedNumber('is written with an exponent; write plain digits like "12.50"')
    if len(text) > MAX_NUMBER_DIGITS + 8:
        return RefusedNumber(f"has more than {MAX_NUMBER_DIGITS} digits")
    return Decimal(text)


def _as_text(raw: bytes | str) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode(json.detect_encoding(raw))
    except UnicodeDecodeError as exc:
        raise MalformedJsonError(f"not UTF-8 text ({exc.reason})") from exc


def _check_depth(text: str) -> None:
    depth = 0
    for match in _NESTING.finditer(text):
        found = match.group()
        if found in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, match.start()) + 1
                column = match.start() - text.rfind("\n", 0, match.start())
                raise MalformedJsonError(f"nested more than {MAX_DEPTH} levels deep", line, column)
        elif found in ("]", "}"):
            depth -= 1
        elif found == '"':
            # A string that never ends: the parser stops there too, so nothing after it
            # can nest (and scanning on from each later quote would take quadratic time).
            return


def load_json(raw: bytes | str) -> Any:
    """Parse JSON once, bounded, with every non-integer number an exact ``Decimal``.

    Raises ``MalformedJsonError`` for anything that is not one JSON text within the
    bounds; a number the reader refuses becomes a ``RefusedNumber`` for its field to
    report."""
    text = _as_text(raw)
    _check_depth(text)
    try:
        return json.loads(
            text,
            parse_float=_fraction,
            parse_int=_integer,
            parse_constant=_no_constant,
            object_pairs_hook=_object_without_duplicate_keys,
        )
    except json.JSONDecodeError as exc:
        raise MalformedJsonError(exc.msg, exc.lineno, exc.colno) from exc


# ---------------------------------------------------------------- records


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BillingRecord(_Record):
    per_device_rate: Money = Field(alias="perDeviceRate")
    default_hourly_rate: Money = Field(alias="defaultHourlyRate")
    tax_percent: TaxPercent = Field(alias="taxPercent")
    currency: CurrencyCode
    auto_send: StrictBool = Field(alias="autoSend")
    billing_email: Email = Field(alias="billingEmail")
    payment_terms_days: Annotated[PaymentDays | None, NotNull] = Field(
        default=None, alias="paymentTermsDays"
    )

    def to_domain(self) -> BillingSettings:
        return BillingSettings(
            per_device_rate=self.per_device_rate,
            default_hourly_rate=self.default_hourly_rate,
            tax_percent=self.tax_percent,
            currency=self.currency,
            auto_send=self.auto_send,
            billing_email=self.billing_email,
        )


class CustomerRecord(_Record):
    id: Id
    name: Name
    billing: BillingRecord
    address_lines: Annotated[AddressLines | None, NotNull] = Field(
        default=None, alias="addressLines"
    )
    tax_id: Annotated[TaxNumber | None, NotNull] = Field(default=None, alias="taxId")
    locale: Annotated[LocaleTag | None, NotNull] = None

    def to_domain(self) -> Customer:
        return Customer(
            id=self.id, name=self.name, billing=self.billing.to_domain(), profile=self.profile()
        )

    def profile(self) -> CustomerProfile:
        """The customer's optional statement details (absent fields: not set)."""
        return CustomerProfile(
            address_lines=self.address_lines or (),
            tax_id=self.tax_id,
            locale=self.locale,
            payment_terms_days=self.billing.payment_terms_days,
        )


class DeviceRecord(_Record):
    id: Id
    customer_id: Id = Field(alias="customerId")
    name: Annotated[Text200 | None, NotNull] = None
    linked_on: Date = Field(alias="linkedOn")
    unlinked_on: Annotated[Date | None, NotNull] = Field(default=None, alias="unlinkedOn")

    def to_domain(self) -> Device:
        return Device(
            id=self.id,
            customer_id=self.customer_id,
            linked_on=self.linked_on,
            unlinked_on=self.unlinked_on,
            name=self.name or "",
        )


class TicketRecord(_Record):
    id: Id
    customer_id: Id = Field(alias="customerId")
    number: Annotated[Text40 | None, NotNull] = None
    subject: Subject

    def to_domain(self) -> Ticket:
        return Ticket(
            id=self.id, customer_id=self.customer_id, subject=self.subject, number=self.number
        )


class ProjectRecord(_Record):
    id: Id
    customer_id: Id = Field(alias="customerId")
    code: Code
    name: Name
    hourly_rate: Annotated[Money | None, NotNull] = Field(default=None, alias="hourlyRate")
    billable: StrictBool

    def to_domain(self) -> Project:
        return Project(
            id=self.id,
            customer_id=self.customer_id,
            code=self.code,
            name=self.name,
            billable=self.billable,
            hourly_rate=self.hourly_rate,
        )


class ContractRecord(_Record):
    id: Id
    customer_id: Id = Field(alias="customerId")
    name: Name
    included_hours: Hours = Field(alias="includedHours")
    overage_hourly_rate: Annotated[Money | None, NotNull] = Field(
        default=None, alias="overageHourlyRate"
    )
    start_date: Date = Field(alias="startDate")
    end_date: Annotated[Date | None, NotNull] = Field(default=None, alias="endDate")

    def to_domain(self) -> Contract:
        return Contract(
            id=self.id,
            customer_id=self.customer_id,
            name=self.name,
            included_hours=self.included_hours,
            start_date=self.start_date,
            end_date=self.end_date,
            overage_hourly_rate=self.overage_hourly_rate,
        )


TICKET_XOR_PROJECT = "ticket_xor_project"


class TimeEntryRecord(_Record):
    id: Id
    ticket_id: Annotated[Id | None, NotNull] = Field(default=None, alias="ticketId")
    project_id: Annotated[Id | None, NotNull] = Field(default=None, alias="projectId")
    user_id: Annotated[Text64 | None, NotNull] = Field(default=None, alias="userId")
    date: Date
    minutes: Minutes
    billable: StrictBool
    description: Annotated[Description | None, NotNull] = None

    @model_validator(mode="wrap")
    @classmethod
    def _exactly_one_of_ticket_and_project(
        cls, data: Any, handler: ModelWrapValidatorHandler[TimeEntryRecord]
    ) -> TimeEntryRecord:
        # The schema's oneOf: exactly one of ticketId / projectId. Checked on the raw
        # input and reported together with any field errors, so none is hidden.
        problem: InitErrorDetails | None = None
        if isinstance(data, dict) and ("ticketId" in data) == ("projectId" in data):
            reason = (
                "has both ticketId and projectId; give exactly one"
                if "ticketId" in data
                else "needs a ticketId or a projectId"
            )
            problem = InitErrorDetails(
                type=PydanticCustomError(TICKET_XOR_PROJECT, reason), loc=(), input=data
            )
        try:
            record = handler(data)
        except ValidationError as exc:
            if problem is None:
                raise
            errors = [
                InitErrorDetails(
                    type=PydanticCustomError(err["type"], err["msg"]),
                    loc=err["loc"],
                    input=err["input"],
                )
                for err in exc.errors(include_url=False)
            ]
            raise ValidationError.from_exception_data(exc.title, [*errors, problem]) from None
        if problem is not None:
            raise ValidationError.from_exception_data(cls.__name__, [problem])
        return record

    def to_domain(self) -> TimeEntry:
        return TimeEntry(
            id=self.id,
            date=self.date,
            minutes=self.minutes,
            billable=self.billable,
            ticket_id=self.ticket_id,
            project_id=self.project_id,
            description=self.description or "",
            user_id=self.user_id or "",
        )


class ImportDocument(_Record):
    """One organisation's import: records are upserted by id."""

    org_id: Id = Field(alias="orgId")
    org_name: Annotated[Text200 | None, NotNull] = Field(default=None, alias="orgName")
    organisation: Annotated[OrgSettingsUpdate | None, NotNull] = None
    """Organisation settings to change; fields left out keep their stored values."""
    customers: list[CustomerRecord] = Field(default_factory=list)
    devices: list[DeviceRecord] = Field(default_factory=list)
    tickets: list[TicketRecord] = Field(default_factory=list)
    projects: list[ProjectRecord] = Field(default_factory=list)
    contracts: list[ContractRecord] = Field(default_factory=list)
    time_entries: list[TimeEntryRecord] = Field(default_factory=list, alias="timeEntries")


# The document's record arrays: JSON key -> (Problem kind, record model).
RECORD_ARRAYS: dict[str, tuple[str, type[_Record]]] = {
    "customers": ("customer", CustomerRecord),
    "devices": ("device", DeviceRecord),
    "tickets": ("ticket", TicketRecord),
    "projects": ("project", ProjectRecord),
    "contracts": ("contract", ContractRecord),
    "timeEntries": ("timeEntry", TimeEntryRecord),
}


def parse_document(raw: bytes | str) -> ImportDocument:
    """Parse (once, bounded) and schema-check an import (money exact, never via float).

    Raises ``MalformedJsonError`` or ``pydantic.ValidationError``; use
    ``psa_billing.ingest.validate.validate_document`` for the whole-document checks
    and a list of every problem.
    """
    return ImportDocument.model_validate(load_json(raw))
