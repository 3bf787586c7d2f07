"""The billing import document (one organisation) as pydantic models of our own.

They mirror ``billing-import.schema.json`` field for field: camelCase names, no
unknown fields, no ``null`` where the schema has no null, ids, dates, money and
tax percent checked exactly as the schema words them. Money is read as an exact
``Decimal``: ``parse_document`` parses JSON numbers with ``parse_float=Decimal``,
so a rate written ``0.1`` is ``Decimal("0.1")``, never the float next to it.

Where the schema leaves a gap the billing rules fill it (billing-rules.md
"Inputs"): tax is 0-100 with at most 4 decimals in both its string and number
forms, a currency must be a known ISO 4217 code, and a JSON-number amount must be
below 10^12 like the string form (a larger one cannot be rounded to a currency).

Cross-record rules (unknown references, overlapping contracts, billed entries)
are not checked here; ``psa_billing.ingest.validate`` does that for the whole
document.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PlainValidator,
    StrictBool,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from psa_billing.domain.model import (
    BillingSettings,
    Contract,
    Customer,
    Device,
    Project,
    Ticket,
    TimeEntry,
)
from psa_billing.domain.money import is_known_currency

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MONEY = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,6})?")
_TAX = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,4})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
# JSON Schema "format": "email" (RFC 5321 mailbox): a dot-atom local part and a host name.
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
)
_MONEY_LIMIT = Decimal(10) ** 12
_TAX_QUANTUM = Decimal("0.0001")

# ---------------------------------------------------------------- JSON reading


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
            raise MalformedJsonError(f"duplicate key {key!r} in one object")
        obj[key] = value
    return obj


def _no_constant(name: str) -> Any:
    raise MalformedJsonError(f"{name} is not a JSON number")


def load_json(raw: bytes | str) -> Any:
    """Parse JSON with every non-integer number read as an exact ``Decimal`` (never a float)."""
    try:
        return json.loads(
            raw,
            parse_float=Decimal,
            parse_constant=_no_constant,
            object_pairs_hook=_object_without_duplicate_keys,
        )
    except json.JSONDecodeError as exc:
        raise MalformedJsonError(exc.msg, exc.lineno, exc.colno) from exc
    except UnicodeDecodeError as exc:
        raise MalformedJsonError(f"not UTF-8 text ({exc.reason})") from exc
    except RecursionError as exc:
        raise MalformedJsonError("nested too deeply") from exc


# ---------------------------------------------------------------- field types


def _not_null(value: object) -> object:
    # Optional fields may be left out, but the schema has no null for them.
    if value is None:
        raise PydanticCustomError("not_null", "must not be null; leave the field out instead")
    return value


NotNull = BeforeValidator(_not_null)


def _id(value: object) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise PydanticCustomError(
            "id",
            "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return value


def _exact_decimal(value: object, kind: str) -> Decimal | None:
    """An exact Decimal from a JSON number (int or parse_float Decimal); None if not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        raise PydanticCustomError(
            kind,
            "was read as a binary float and may have lost digits; write it as a decimal "
            "string or parse the JSON with parse_document",
        )
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    return None


def _money(value: object) -> Decimal:
    if isinstance(value, str):
        if not _MONEY.fullmatch(value):
            raise PydanticCustomError(
                "money",
                'must be a decimal string like "12.50": up to 12 digits, '
                "optionally a point and up to 6 decimals, no sign",
            )
        return Decimal(value)
    number = _exact_decimal(value, "money")
    if number is None:
        raise PydanticCustomError("money", "must be a decimal string or a JSON number")
    if number < 0:
        raise PydanticCustomError("money", "must not be negative")
    if number >= _MONEY_LIMIT:
        raise PydanticCustomError("money", "must be less than 1000000000000")
    return number.copy_abs()  # -0 is 0


def _tax_percent(value: object) -> Decimal:
    if isinstance(value, str):
        if not _TAX.fullmatch(value):
            raise PydanticCustomError(
                "tax_percent", 'must be a decimal string like "20" or "7.5" (up to 4 decimals)'
            )
        number: Decimal | None = Decimal(value)
    else:
        number = _exact_decimal(value, "tax_percent")
    if number is None:
        raise PydanticCustomError("tax_percent", "must be a decimal string or a JSON number")
    # billing-rules.md "Inputs": taxPercent is 0-100, up to 4 decimals.
    if not Decimal(0) <= number <= Decimal(100):
        raise PydanticCustomError("tax_percent", "must be between 0 and 100")
    if number != number.quantize(_TAX_QUANTUM):
        raise PydanticCustomError("tax_percent", "must have at most 4 decimals")
    return number.copy_abs()


def _date(value: object) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise PydanticCustomError("date", "must be a date written YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "date", "{value} is not a real calendar date", {"value": value}
        ) from None


def _currency(value: object) -> str:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise PydanticCustomError("currency", "must be a three-letter ISO 4217 code like GBP")
    if not is_known_currency(value):
        raise PydanticCustomError(
            "unknown_currency", "unknown ISO 4217 currency code '{code}'", {"code": value}
        )
    return value


def _email(value: object) -> str:
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value):
        raise PydanticCustomError("email", "must be an email address like ap@example.com")
    return value


def _minutes(value: object) -> int:
    number = _exact_decimal(value, "minutes")
    # JSON Schema "integer" also admits 30.0; a string "30" is not a number.
    if number is None or number != number.to_integral_value():
        raise PydanticCustomError("minutes", "must be a whole number of minutes")
    if not 1 <= number <= 1440:
        raise PydanticCustomError("minutes", "must be from 1 to 1440")
    return int(number)


Id = Annotated[str, PlainValidator(_id)]
Money = Annotated[Decimal, PlainValidator(_money)]
TaxPercent = Annotated[Decimal, PlainValidator(_tax_percent)]
Date = Annotated[dt.date, PlainValidator(_date)]
CurrencyCode = Annotated[str, PlainValidator(_currency)]
Email = Annotated[str, PlainValidator(_email)]
Minutes = Annotated[int, PlainValidator(_minutes)]


def _text(max_length: int, min_length: int = 0) -> StringConstraints:
    return StringConstraints(strict=True, min_length=min_length, max_length=max_length)


Name = Annotated[str, _text(200, 1)]
Code = Annotated[str, _text(40, 1)]
Subject = Annotated[str, _text(300, 1)]
Text40 = Annotated[str, _text(40)]
Text64 = Annotated[str, _text(64)]
Text200 = Annotated[str, _text(200)]
Text1000 = Annotated[str, _text(1000)]


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

    def to_domain(self) -> Customer:
        return Customer(id=self.id, name=self.name, billing=self.billing.to_domain())


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
    included_hours: Money = Field(alias="includedHours")
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
    description: Annotated[Text1000 | None, NotNull] = None

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
    """Parse and schema-check an import (money exact, never via float).

    Raises ``MalformedJsonError`` or ``pydantic.ValidationError``; use
    ``psa_billing.ingest.validate.validate_document`` for the whole-document checks
    and a list of every problem.
    """
    return ImportDocument.model_validate(load_json(raw))
