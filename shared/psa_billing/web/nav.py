"""The navigation: only what the signed-in person's role may use (docs/api.md "Roles").

Every page of the portal is listed here once, with what it needs; a page added later
adds its entry here. ``needs``: ``billing`` = ADMIN or OWNER in the organisation shown;
``owner`` = OWNER there. ``feature`` = an organisation feature flag that must be on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from psa_billing.auth.roles import ORG_SETTINGS_ROLE, Principal

Needs = Literal["billing", "owner"]


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    href: str
    needs: Needs = "billing"
    feature: str | None = None


@dataclass(frozen=True, slots=True)
class NavLink:
    label: str
    href: str
    current: bool


NAV: tuple[NavItem, ...] = (
    NavItem("Monthly run", "/admin/billing"),
    NavItem("Invoices & quotes", "/billing", feature="projects"),
    NavItem("InvoiceNinja", "/admin/integrations/invoiceninja"),
)


def allowed(item: NavItem, principal: Principal, org_id: str | None) -> bool:
    if org_id is None:
        return False
    if item.needs == "owner":
        role = principal.role_in(org_id)
        return role is not None and role.at_least(ORG_SETTINGS_ROLE)
    return org_id in principal.billing_write_orgs()


def nav_for(
    principal: Principal | None,
    org_id: str | None,
    path: str,
    features: Mapping[str, bool] | None = None,
) -> list[NavLink]:
    if principal is None:
        return []
    on = features or {}
    return [
        NavLink(item.label, item.href, path == item.href or path.startswith(item.href + "/"))
        for item in NAV
        if allowed(item, principal, org_id) and (item.feature is None or on.get(item.feature))
    ]


def page_org(principal: Principal, wanted: str | None) -> str | None:
    """The organisation the pages show: the one asked for (``?org=``) if the person
    is a member, else their first with billing, else their first membership."""
    if wanted and wanted in principal.roles:
        return wanted
    billing = sorted(principal.billing_write_orgs())
    if billing:
        return billing[0]
    return min(principal.roles) if principal.roles else None
