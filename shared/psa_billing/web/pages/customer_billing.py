"""A customer's Billing tab: ``/customers/{id}/billing``.

The six settings of the product doc (per-device rate, default hourly rate, tax
percentage, currency, auto-send, billing email) and the statement details the
statements issue added (postal address, tax id, locale, payment terms), changed
through the same use case and validated by the same model as ``PUT /api/customers/{id}/billing``
(logic/settings_api.put_billing, api/schemas.CustomerBillingUpdate: the import's own
rules). A refused value is shown beside its field with the API's message; a saved change
redirects back with a confirmation (post/redirect/get), and the history lists who
changed what, when.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from psa_billing.api.deps import Access, utc_now
from psa_billing.api.schemas import CustomerBillingUpdate
from psa_billing.dal.failures import ChangedMeanwhileError
from psa_billing.domain.currencies import MINOR_UNITS
from psa_billing.logic import settings_api as uc
from psa_billing.logic.errors import CurrencyLocked
from psa_billing.web.deps import BillingViewer, CheckedForm
from psa_billing.web.errors import PageRoute
from psa_billing.web.render import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CustomerId = Annotated[str, Path(min_length=1, max_length=64)]


@dataclass(frozen=True, slots=True)
class Setting:
    name: str  # the API's (and the import's) field name
    label: str
    hint: str


SETTINGS: tuple[Setting, ...] = (
    Setting("perDeviceRate", "Per-device rate", "Charged each month for every managed device."),
    Setting(
        "defaultHourlyRate",
        "Default hourly rate",
        "For billable time not covered by a contract or a project rate.",
    ),
    Setting("taxPercent", "Tax percentage", "Applied to the statement's subtotal, e.g. 20."),
    Setting("currency", "Currency", "The three-letter ISO code, e.g. GBP, EUR, USD."),
    Setting(
        "autoSend",
        "Send statements automatically",
        "Unticked: each statement waits for review before it is emailed.",
    ),
    Setting("billingEmail", "Billing email", "Where statements are sent."),
    # The customer's statement details (docs/documents.md "Bill to"); blank clears one.
    Setting(
        "addressLines",
        "Postal address",
        "Printed in the statement's bill-to block: one line per row, at most 6.",
    ),
    Setting("taxId", "Tax id", "The customer's VAT or tax number, printed on its statements."),
    Setting(
        "locale",
        "Locale",
        "Figures, dates and wording of this customer's statements, e.g. de-DE. "
        "Blank: the organisation's.",
    ),
    Setting(
        "paymentTermsDays",
        "Payment terms (days)",
        "Days from issue until a statement is due. Blank: the organisation's.",
    ),
)
DETAILS = ("addressLines", "taxId", "locale", "paymentTermsDays")
LABELS: Mapping[str, str] = {s.name: s.label for s in SETTINGS}
MONEY_FIELDS = ("perDeviceRate", "defaultHourlyRate")
CURRENCIES: tuple[str, ...] = tuple(sorted(MINOR_UNITS))


# -- form <-> settings (pure) -------------------------------------------------------------


def form_values(form: Any) -> dict[str, Any]:
    """What the form sent, as the API's body: texts trimmed, the checkbox as a bool
    (an unticked box sends nothing)."""
    values: dict[str, Any] = {
        s.name: form.get(s.name, "").strip()
        for s in SETTINGS
        if s.name != "autoSend" and s.name not in DETAILS
    }
    values["currency"] = values["currency"].upper()
    values["autoSend"] = form.get("autoSend", "") in ("on", "true", "1")
    # The statement details: a blank one is cleared (null), as PUT does.
    lines = [ln.strip() for ln in form.get("addressLines", "").splitlines() if ln.strip()]
    values["addressLines"] = lines or None
    for name in ("taxId", "locale"):
        values[name] = form.get(name, "").strip() or None
    days = form.get("paymentTermsDays", "").strip()
    values["paymentTermsDays"] = int(days) if days.isdigit() else (days or None)
    return values


def _sentence(message: str) -> str:
    message = message.strip()
    return message[:1].upper() + message[1:] if message else "Not a valid value."


def field_errors(exc: ValidationError) -> dict[str, str]:
    """The model's messages by field (the first one of each field)."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = err.get("loc") or ()
        name = str(loc[0]) if loc else ""
        if name not in LABELS:
            name = "_form"
        errors.setdefault(name, _sentence(str(err.get("msg", ""))))
    return errors


def use_case_errors(exc: Exception) -> dict[str, str]:
    """The use case's refusals, put beside the field they are about."""
    text = str(exc)
    if isinstance(exc, uc.RateDigitsError):
        head, _, rest = text.partition(": ")
        name = head.removeprefix("billing.")
        if name in LABELS:
            return {name: _sentence(rest)}
    if isinstance(exc, CurrencyLocked):
        return {"currency": _sentence(text)}
    return {"_form": _sentence(text)}


def history_rows(history: list[dict[str, Any]], currency: str) -> list[dict[str, Any]]:
    """Each change with its fields in the form's order and in words."""
    order = {s.name: i for i, s in enumerate(SETTINGS)}
    rows = []
    for h in history:
        changes: Mapping[str, Mapping[str, Any]] = h.get("changes") or {}
        cur_to = str((changes.get("currency") or {}).get("to") or currency)
        cur_from = str((changes.get("currency") or {}).get("from") or cur_to)
        items = [
            {
                "name": name,
                "label": LABELS.get(name, name),
                "from": change.get("from"),
                "to": change.get("to"),
                "currency_from": cur_from,
                "currency_to": cur_to,
            }
            for name, change in sorted(changes.items(), key=lambda kv: order.get(kv[0], 99))
        ]
        rows.append({"at": h.get("at", ""), "actor": h.get("actor", ""), "changes": items})
    return rows


# -- routes ------------------------------------------------------------------------------


def _self_url(customer_id: str, org_id: str, **extra: str) -> str:
    query = urlencode({"org": org_id, **extra})
    return f"/customers/{customer_id}/billing?{query}"


def _page(
    request: Request,
    access: Any,
    org_id: str,
    view: dict[str, Any],
    *,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    saved: bool = False,
    status: int = 200,
) -> Response:
    shown = dict(values) if values is not None else {s.name: view.get(s.name) for s in SETTINGS}
    return render(
        request,
        "customer_billing.html.j2",
        {
            "customer": view,
            "values": shown,
            "errors": dict(errors or {}),
            "saved": saved,
            "settings": SETTINGS,
            "money_fields": MONEY_FIELDS,
            "currencies": CURRENCIES,
            "currency_locked": access.customer_was_billed(org_id, view["customerId"]),
            "history": history_rows(view["history"], view["currency"]),
            "action": _self_url(view["customerId"], org_id),
        },
        status=status,
    )


@router.get("/customers/{customer_id}/billing")
def customer_billing(
    request: Request,
    viewer: BillingViewer,
    access: Access,
    customer_id: CustomerId,
    saved: Annotated[str | None, Query(max_length=5)] = None,
) -> Response:
    view = uc.get_billing(access, viewer.principal, customer_id, viewer.org_id)
    return _page(request, access, viewer.org_id, view, saved=saved is not None)


@router.post("/customers/{customer_id}/billing")
def save_customer_billing(
    request: Request,
    viewer: BillingViewer,
    access: Access,
    form: CheckedForm,
    customer_id: CustomerId,
) -> Response:
    # Read first: an unknown customer, or another organisation's, is "not found" before
    # anything about the values is said.
    current = uc.get_billing(access, viewer.principal, customer_id, viewer.org_id)
    values = form_values(form)
    try:
        body = CustomerBillingUpdate.model_validate(values)
    except ValidationError as exc:
        return _page(
            request,
            access,
            viewer.org_id,
            current,
            values=values,
            errors=field_errors(exc),
            status=422,
        )
    try:
        uc.put_billing(
            access,
            viewer.principal,
            customer_id,
            viewer.org_id,
            body,
            clock=utc_now,
            profile_changes=body.profile_changes(),
        )
    except (uc.RateDigitsError, CurrencyLocked) as exc:
        return _page(
            request,
            access,
            viewer.org_id,
            current,
            values=values,
            errors=use_case_errors(exc),
            status=422 if isinstance(exc, uc.RateDigitsError) else 409,
        )
    except ChangedMeanwhileError as exc:
        fresh = uc.get_billing(access, viewer.principal, customer_id, viewer.org_id)
        return _page(
            request,
            access,
            viewer.org_id,
            fresh,
            values=values,
            errors={"_form": _sentence(str(exc))},
            status=409,
        )
    return RedirectResponse(_self_url(customer_id, viewer.org_id, saved="1"), status_code=303)
