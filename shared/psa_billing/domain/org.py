"""The MSP (tenant) itself: what its statements are issued under, and its settings.

``OrgSettings`` is every setting an organisation has, validated field by field with
the same text, email and number rules as the import (``psa_billing.domain.fields``).
The CLI (``org set``), the API and the import's ``organisation`` object all go through
``parse_org_settings`` / ``update_org_settings``, so a setting refused in one place is
refused in every place, with the same words (docs/import-format.md "Organisation").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from psa_billing.domain.calendar import CalendarSettings
from psa_billing.domain.errors import BillingError, InvalidSettingsError
from psa_billing.domain.fields import (
    ID_PATTERN,
    AddressLines,
    AsDecimalText,
    Email,
    HttpsUrl,
    Id,
    Label,
    LocaleTag,
    LongNote,
    Name,
    NotNull,
    NumberPrefix,
    PaymentDays,
    TaxNumber,
    TimeZoneName,
    exact_decimal,
)
from psa_billing.domain.model import CustomerProfile
from psa_billing.domain.money import fraction_digits, to_decimal


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    name: str
    address_lines: tuple[str, ...] = ()
    email: str = ""


# ---------------------------------------------------------------- field types


def _bounded_int(kind: str, low: int, high: int) -> PlainValidator:
    def check(value: object) -> int:
        number = exact_decimal(value, kind)
        if number is None or number != number.to_integral_value():
            raise PydanticCustomError(kind, "must be a whole number")
        if not low <= number <= high:
            raise PydanticCustomError(
                kind, "must be from {low} to {high}", {"low": str(low), "high": str(high)}
            )
        return int(number)

    return PlainValidator(check)


def _percent(value: object) -> Decimal:
    number: Decimal | None
    if isinstance(value, str):
        try:
            number = to_decimal(value)
        except BillingError:
            number = None
    else:
        number = exact_decimal(value, "percent")
    if number is None:
        raise PydanticCustomError("percent", 'must be a percentage like "25" or "12.5"')
    if not Decimal(0) <= number <= Decimal(1000):
        raise PydanticCustomError("percent", "must be from 0 to 1000")
    if fraction_digits(number) > 2:
        raise PydanticCustomError("percent", "must have at most 2 decimals")
    return number


BillingDay = Annotated[int, _bounded_int("billing_day", 1, 31)]
GraceDays = Annotated[int, _bounded_int("grace_days", 0, 28)]
StatementNumber = Annotated[int, _bounded_int("statement_number", 1, 999_999_999)]
DeviceCount = Annotated[int, _bounded_int("count", 0, 100_000)]
Percent = Annotated[Decimal, PlainValidator(_percent), AsDecimalText]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=False)


class ReviewThresholds(_Settings):
    """A statement is held for review when it differs from the previous month's by more
    than these (the statements issue); either may be left out."""

    total_change_percent: Annotated[Percent | None, NotNull] = Field(
        default=None, alias="totalChangePercent"
    )
    devices_changed_count: Annotated[DeviceCount | None, NotNull] = Field(
        default=None, alias="devicesChangedCount"
    )


class _OrgFields(_Settings):
    """The settings every organisation may set; all optional, with the defaults the
    billing rules name (time zone UTC, billing day 1, no grace)."""

    address_lines: AddressLines = Field(default=(), alias="addressLines")
    email: Annotated[Email | None, NotNull] = None
    legal_name: Annotated[Name | None, NotNull] = Field(default=None, alias="legalName")
    tax_registration_number: Annotated[TaxNumber | None, NotNull] = Field(
        default=None, alias="taxRegistrationNumber"
    )
    tax_label: Annotated[Label | None, NotNull] = Field(default=None, alias="taxLabel")
    payment_terms_days: Annotated[PaymentDays | None, NotNull] = Field(
        default=None, alias="paymentTermsDays"
    )
    payment_instructions: Annotated[LongNote | None, NotNull] = Field(
        default=None, alias="paymentInstructions"
    )
    payment_link: Annotated[HttpsUrl | None, NotNull] = Field(default=None, alias="paymentLink")
    footer_note: Annotated[LongNote | None, NotNull] = Field(default=None, alias="footerNote")
    statement_number_prefix: NumberPrefix = Field(default="", alias="statementNumberPrefix")
    next_statement_number: StatementNumber = Field(default=1, alias="nextStatementNumber")
    default_locale: Annotated[LocaleTag | None, NotNull] = Field(
        default=None, alias="defaultLocale"
    )
    # docs/billing-rules.md "The period": a period is billed once it has ended in the
    # organisation's time zone, default UTC.
    time_zone: TimeZoneName = Field(default="UTC", alias="timeZone")
    billing_day: BillingDay = Field(default=1, alias="billingDay")
    late_time_grace_days: GraceDays = Field(default=0, alias="lateTimeGraceDays")
    review_thresholds: Annotated[ReviewThresholds | None, NotNull] = Field(
        default=None, alias="reviewThresholds"
    )


def _logo_name(value: object) -> str:
    if not isinstance(value, str) or not _LOGO_NAME.fullmatch(value):
        raise PydanticCustomError(
            "logo", "must be a stored logo's name (set it with `psa-billing org set --logo`)"
        )
    return value


_LOGO_NAME = re.compile(r"[0-9a-f]{64}\.(?:png|jpg)")
LogoName = Annotated[str, PlainValidator(_logo_name)]


class OrgSettings(_OrgFields):
    """An organisation's settings, whole and valid."""

    id: Id
    name: Name
    # The stored logo (sha256 of the image and its extension; docs/documents.md "Logo").
    # Not one of the import's or the API's settings: only `org set --logo` checks and
    # stores an image, then names it here.
    logo: Annotated[LogoName | None, NotNull] = None

    def organisation(self) -> Organisation:
        return Organisation(
            id=self.id, name=self.name, address_lines=self.address_lines, email=self.email or ""
        )

    def calendar(self) -> CalendarSettings:
        return CalendarSettings(
            time_zone=self.time_zone,
            billing_day=self.billing_day,
            late_time_grace_days=self.late_time_grace_days,
        )

    def public(self) -> dict[str, Any]:
        """The settings in their own camelCase names, as stored and shown (JSON-ready)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class OrgSettingsUpdate(_OrgFields):
    """Some settings to change (the import's ``organisation`` object): only the fields
    given are changed; see ``changes``."""

    name: Annotated[Name | None, NotNull] = None

    def changes(self) -> dict[str, Any]:
        """The fields given, in their camelCase names."""
        return self.model_dump(mode="json", by_alias=True, include=self.model_fields_set)


# ---------------------------------------------------------------- validation

_REASONS = {
    "missing": "required setting is missing",
    "extra_forbidden": "unknown setting",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
}


def _path(loc: Iterable[int | str]) -> str:
    return ".".join(str(part) for part in loc)


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    errors: list[ErrorDetails] = exc.errors(include_url=False)
    return [(_path(err["loc"]), _REASONS.get(err["type"], err["msg"])) for err in errors]


def parse_org_settings(data: Mapping[str, object]) -> OrgSettings:
    """Whole settings in their camelCase names (``id`` and ``name`` required).

    Raises ``InvalidSettingsError`` listing every field refused, as
    ``org ID: field: reason``."""
    try:
        return OrgSettings.model_validate(dict(data))
    except ValidationError as exc:
        org_id = data.get("id")
        # A malformed id is never echoed (it is one of the problems listed).
        shown = org_id if isinstance(org_id, str) and ID_PATTERN.fullmatch(org_id) else ""
        raise InvalidSettingsError("org", shown, _problems(exc)) from None


def update_org_settings(current: OrgSettings, changes: Mapping[str, object]) -> OrgSettings:
    """``current`` with ``changes`` applied (camelCase names; a value of None clears a
    setting back to its default). The result is validated whole, so a change is refused
    with the same reasons as in an import. ``id`` cannot change and ``name`` cannot be
    cleared."""
    if "id" in changes and changes["id"] != current.id:
        raise InvalidSettingsError("org", current.id, [("id", "cannot be changed")])
    if "name" in changes and changes["name"] is None:
        raise InvalidSettingsError("org", current.id, [("name", "cannot be cleared")])
    merged: dict[str, object] = current.model_dump(by_alias=True, exclude_none=True)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return parse_org_settings(merged)


def new_org_settings(org_id: str, name: str | None = None) -> OrgSettings:
    """The settings of an organisation nobody has set anything for yet (named by its
    id until it is given a name)."""
    return parse_org_settings({"id": org_id, "name": name or org_id})


class _CustomerFields(_Settings):
    address_lines: AddressLines = Field(default=(), alias="addressLines")
    tax_id: Annotated[TaxNumber | None, NotNull] = Field(default=None, alias="taxId")
    locale: Annotated[LocaleTag | None, NotNull] = None
    payment_terms_days: Annotated[PaymentDays | None, NotNull] = Field(
        default=None, alias="paymentTermsDays"
    )


def parse_customer_profile(customer_id: str, data: Mapping[str, object]) -> CustomerProfile:
    """A customer's optional statement details from their camelCase names
    (``addressLines``, ``taxId``, ``locale``, ``paymentTermsDays``), validated like the
    import's customer record. Raises ``InvalidSettingsError`` (``customer ID: ...``)."""
    try:
        fields = _CustomerFields.model_validate(dict(data))
    except ValidationError as exc:
        raise InvalidSettingsError("customer", customer_id, _problems(exc)) from None
    return CustomerProfile(
        address_lines=fields.address_lines,
        tax_id=fields.tax_id,
        locale=fields.locale,
        payment_terms_days=fields.payment_terms_days,
    )


def update_customer_profile(
    customer_id: str, current: CustomerProfile, changes: Mapping[str, object]
) -> CustomerProfile:
    """``current`` with ``changes`` applied (camelCase names; None clears a detail, so
    the organisation's setting applies again), validated whole like the import's
    customer record. Raises ``InvalidSettingsError`` (``customer ID: ...``)."""
    merged: dict[str, object] = current.public()
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return parse_customer_profile(customer_id, merged)
