"""Customer billing settings and organisation settings through the API.

Billing settings are validated exactly as the import validates them (the import
document's BillingRecord, and its rule that rates have no more digits than the
currency); every change is recorded with who and when. A customer already billed
keeps its currency: statements and their adjustments are in it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from psa_billing.auth.errors import ForbiddenError
from psa_billing.auth.roles import ORG_SETTINGS_ROLE, Principal
from psa_billing.dal.access import SettingsChange
from psa_billing.dal.serde import dec
from psa_billing.domain.errors import BillingError
from psa_billing.domain.model import BillingSettings, Customer, CustomerProfile
from psa_billing.domain.money import Currency, format_amount
from psa_billing.domain.org import (
    OrgSettings,
    new_org_settings,
    update_customer_profile,
    update_org_settings,
)
from psa_billing.domain.statement import format_percent
from psa_billing.ingest.document import BillingRecord
from psa_billing.logic.billing_api import check_org
from psa_billing.logic.errors import CurrencyLocked, NotFound

KNOWN_FEATURES = ("projects",)


class RateDigitsError(BillingError):
    pass


class CustomerSettings(Protocol):
    def get_customer(self, org_id: str, customer_id: str) -> Customer | None: ...
    def customer_was_billed(self, org_id: str, customer_id: str) -> bool: ...
    def update_customer_billing(
        self,
        org_id: str,
        customer_id: str,
        old: BillingSettings,
        new: BillingSettings,
        *,
        actor: str,
        at: str,
        old_profile: CustomerProfile,
        new_profile: CustomerProfile,
    ) -> SettingsChange: ...
    def settings_history(
        self, org_id: str, customer_id: str, limit: int = 50
    ) -> list[SettingsChange]: ...


def _customer_org(principal: Principal, customer_id: str, org_id: str | None) -> str:
    """Customer ids are unique within an organisation: the caller's organisation is
    given, or is the only one it bills."""
    if org_id is not None:
        check_org(principal, org_id, write=False, what=f"customer {customer_id!r}")
        return org_id
    orgs = sorted(principal.billing_read_orgs())
    if not orgs:
        if principal.roles:
            raise ForbiddenError("none of your organisations gives you billing access")
        raise NotFound(f"no customer {customer_id!r}")
    return orgs[0]


def _find(
    store: CustomerSettings, principal: Principal, customer_id: str, org_id: str | None
) -> tuple[str, Customer]:
    if principal.kind == "machine":
        # Machine clients read statements, runs and the CSV; customers' settings are not theirs.
        raise ForbiddenError("machine clients may read statements, runs and the CSV only")
    if org_id is None and len(principal.billing_read_orgs()) > 1:
        for org in sorted(principal.billing_read_orgs()):
            found = store.get_customer(org, customer_id)
            if found is not None:
                return org, found
        raise NotFound(f"no customer {customer_id!r}")
    org = _customer_org(principal, customer_id, org_id)
    customer = store.get_customer(org, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id!r}")
    return org, customer


def billing_view(org_id: str, customer: Customer, history: list[SettingsChange]) -> dict[str, Any]:
    b = customer.billing
    cur = Currency.of(b.currency)
    return {
        "customerId": customer.id,
        "orgId": org_id,
        "name": customer.name,
        "perDeviceRate": format_amount(b.per_device_rate, cur),
        "defaultHourlyRate": format_amount(b.default_hourly_rate, cur),
        "taxPercent": format_percent(b.tax_percent),
        "currency": b.currency,
        "autoSend": b.auto_send,
        "billingEmail": b.billing_email,
        # The customer's statement details (docs/documents.md "Bill to"), those set.
        **customer.profile.public(),
        "history": [{"at": h.at, "actor": h.actor, "changes": h.changes} for h in history],
    }


def get_billing(
    store: CustomerSettings, principal: Principal, customer_id: str, org_id: str | None
) -> dict[str, Any]:
    org, customer = _find(store, principal, customer_id, org_id)
    return billing_view(org, customer, store.settings_history(org, customer_id))


def put_billing(
    store: CustomerSettings,
    principal: Principal,
    customer_id: str,
    org_id: str | None,
    record: BillingRecord,
    *,
    clock: Callable[[], datetime],
    profile_changes: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """The billing settings replaced whole; the statement details in
    ``profile_changes`` (address, tax id, locale, payment terms) changed one by one,
    validated like the import's customer record (None clears one)."""
    org, customer = _find(store, principal, customer_id, org_id)
    check_org(principal, org, write=True, what=f"customer {customer_id!r}")
    new = record.to_domain()
    cur = Currency.of(new.currency)
    # Import rule (ingest/validate.py _check_rate_digits): rates are money in the
    # customer's currency, with no more digits than it has.
    for name, value in (
        ("perDeviceRate", new.per_device_rate),
        ("defaultHourlyRate", new.default_hourly_rate),
    ):
        if not cur.has_exact_digits(value):
            raise RateDigitsError(
                f"billing.{name}: {dec(value)} has more decimal places than {cur.code} "
                f"allows ({cur.exponent})"
            )
    old = customer.billing
    profile = customer.profile
    if profile_changes:
        profile = update_customer_profile(customer_id, profile, profile_changes)
    if new.currency != old.currency and store.customer_was_billed(org, customer_id):
        raise CurrencyLocked(
            f"customer {customer_id} has statements in {old.currency}; its currency cannot "
            "change (statements and their adjustments keep the currency they were billed in)"
        )
    if new != old or profile != customer.profile:
        store.update_customer_billing(
            org,
            customer_id,
            old,
            new,
            actor=principal.actor,
            at=clock().isoformat(timespec="seconds"),
            old_profile=customer.profile,
            new_profile=profile,
        )
    updated = Customer(id=customer.id, name=customer.name, billing=new, profile=profile)
    return billing_view(org, updated, store.settings_history(org, customer_id))


# --------------------------------------------------------------------------- orgs


class OrgStore(Protocol):
    def get_org(self, org_id: str) -> OrgSettings | None: ...
    def put_org(self, org: OrgSettings) -> None: ...


class FeatureStore(Protocol):
    def org_features(self, org_id: str) -> dict[str, bool]: ...
    def put_org_features(self, org_id: str, features: dict[str, bool], actor: str) -> None: ...


def org_view(org: OrgSettings, features: dict[str, bool], role: str | None) -> dict[str, Any]:
    return {
        **org.public(),
        "features": {f: bool(features.get(f, False)) for f in KNOWN_FEATURES},
        "role": role,
    }


def _member_org(principal: Principal, org_id: str) -> str | None:
    role = principal.role_in(org_id)
    if role is None:
        raise NotFound(f"no organisation {org_id!r}")
    return None if principal.kind == "machine" else str(role)


def get_org(
    orgs: OrgStore, features: FeatureStore, principal: Principal, org_id: str
) -> dict[str, Any]:
    role = _member_org(principal, org_id)
    org = orgs.get_org(org_id) or new_org_settings(org_id)
    return org_view(org, features.org_features(org_id), role)


def put_org(
    orgs: OrgStore,
    features: FeatureStore,
    principal: Principal,
    org_id: str,
    change: dict[str, Any],
) -> dict[str, Any]:
    """Settings are validated whole by the domain (the import's rules); feature flags
    are kept beside them."""
    role = principal.role_in(org_id)
    if role is None:
        raise NotFound(f"no organisation {org_id!r}")
    if principal.read_only or not role.at_least(ORG_SETTINGS_ROLE):
        raise ForbiddenError(f"changing an organisation's settings needs {ORG_SETTINGS_ROLE}")
    change = dict(change)
    wanted_flags = change.pop("features", None) or {}
    current = orgs.get_org(org_id) or new_org_settings(org_id)
    updated = update_org_settings(current, change) if change else current
    if updated != current:
        orgs.put_org(updated)
    flags = features.org_features(org_id)
    wanted = {k: bool(v) for k, v in wanted_flags.items() if v is not None}
    if wanted and {**flags, **wanted} != flags:
        flags = {**flags, **wanted}
        features.put_org_features(org_id, flags, principal.actor)
    return org_view(updated, flags, str(role))
