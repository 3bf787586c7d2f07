"""What InvoiceNinja v5 sends, parsed leniently (invoiceninja-api.md §3).

Newer servers add keys, so unknown keys are ignored; PHP prints empty objects as ``[]``
and nulls as ``""``; ids and ``status_id`` are strings but old builds sent numbers.
Money arrives as a JSON int, float or string: the client parses JSON floats straight to
Decimal, so no binary rounding happens anywhere.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

DocumentKind = Literal["invoice", "quote"]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    raise ValueError("expected a string")


def _amount(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, (bool, float)):
        # The client never produces floats (parse_float=Decimal); a float here is a bug.
        raise ValueError("money must not pass through a float")
    try:
        result = Decimal(value) if isinstance(value, (int, Decimal)) else Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an amount") from exc
    if not result.is_finite():
        raise ValueError(f"{value!r} is not an amount")
    return result


def _mapping(value: Any) -> dict[str, Any]:
    if value in (None, "", []):
        return {}
    if isinstance(value, dict):
        return value
    raise ValueError("expected an object")


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true")
    return bool(value)


def _int(value: Any) -> int:
    if value in (None, ""):
        return 0
    if isinstance(value, bool):
        return int(value)
    return int(Decimal(str(value)))


Text = Annotated[str, BeforeValidator(_text)]
Amount = Annotated[Decimal, BeforeValidator(_amount)]
Mapping = Annotated[dict[str, Any], BeforeValidator(_mapping)]
Flag = Annotated[bool, BeforeValidator(_bool)]
Stamp = Annotated[int, BeforeValidator(_int)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class WireClient(_Wire):
    id: Text = ""
    name: Text = ""
    display_name: Text = ""
    number: Text = ""
    id_number: Text = ""
    settings: Mapping = Field(default_factory=dict)
    is_deleted: Flag = False
    archived_at: Stamp = 0

    @property
    def currency_id(self) -> str:
        return _text(self.settings.get("currency_id"))

    @property
    def label(self) -> str:
        return self.display_name or self.name or self.number or self.id


def _client(value: Any) -> WireClient | None:
    if value in (None, "", [], {}):
        return None
    return WireClient.model_validate(value)


class WireDocument(_Wire):
    """An invoice or a quote (the two transformers share these fields)."""

    id: Text = ""
    number: Text = ""
    po_number: Text = ""
    client_id: Text = ""
    status_id: Text = ""
    amount: Amount = Decimal(0)
    balance: Amount = Decimal(0)
    partial: Amount = Decimal(0)
    date: Text = ""
    due_date: Text = ""
    partial_due_date: Text = ""
    is_deleted: Flag = False
    archived_at: Stamp = 0
    invoice_id: Text = ""  # quotes: the invoice it was converted to
    custom_value4: Text = ""
    client: Annotated[WireClient | None, BeforeValidator(_client)] = None


class Pagination(_Wire):
    total: Stamp = 0
    count: Stamp = 0
    per_page: Stamp = 0
    current_page: Stamp = 1
    total_pages: Stamp = 1


class _Meta(_Wire):
    pagination: Pagination | None = None


class ListEnvelope(_Wire):
    data: list[dict[str, Any]]
    meta: Annotated[_Meta, BeforeValidator(_mapping)] = Field(default_factory=_Meta)


class ItemEnvelope(_Wire):
    data: dict[str, Any]


class Ping(_Wire):
    company_name: Text = ""
    user_name: Text = ""
