"""The pages' dependencies, as ``Annotated[..., Depends(...)]`` aliases.

* ``PageSessionDep``: the signed-in session (principal + access token); not signed in
  -> a redirect to /signin?next=... (web/errors.PageRoute turns SignInRequired into it).
* ``PagePrincipal``: just the principal of that session.
* ``BillingViewer``: a principal with billing (ADMIN or OWNER) in the organisation the
  page shows (``?org=`` or their first); others get the "no billing access" page.
* ``CheckedForm``: the posted form, after its CSRF token was checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Query, Request

from psa_billing.api import deps as api_deps
from psa_billing.api.deps import Access, Cognito, Settings, Verifier
from psa_billing.api.settings import get_api_settings
from psa_billing.auth.errors import ForbiddenError
from psa_billing.auth.roles import Principal
from psa_billing.domain.org import OrgSettings
from psa_billing.logic.signin import TtlCache
from psa_billing.web.csrf import Form, checked_form
from psa_billing.web.nav import page_org
from psa_billing.web.session import PageSession, load_session


def page_session(
    request: Request, settings: Settings, v: Verifier, access: Access, idp: Cognito
) -> PageSession:
    session = load_session(
        request,
        resolve=lambda token: api_deps.principal_of(token, settings, v, access),
        refresh=idp.refresh,
    )
    request.state.org_id = page_org(session.principal, request.query_params.get("org"))
    return session


PageSessionDep = Annotated[PageSession, Depends(page_session)]


def page_principal(session: PageSessionDep) -> Principal:
    return session.principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]


@dataclass(frozen=True, slots=True)
class Viewer:
    """Someone with billing in ``org_id``, the organisation this page shows."""

    principal: Principal
    org_id: str
    session: PageSession


def billing_viewer(
    request: Request,
    session: PageSessionDep,
    org: Annotated[str | None, Query(max_length=64)] = None,
) -> Viewer:
    principal = session.principal
    org_id = page_org(principal, org)
    if org_id is None or org_id not in principal.billing_write_orgs():
        raise ForbiddenError("your role does not include billing")
    request.state.org_id = org_id
    return Viewer(principal, org_id, session)


BillingViewer = Annotated[Viewer, Depends(billing_viewer)]
CheckedForm = Annotated[Form, Depends(checked_form)]


# --------------------------------------------------------------------------- org facts


@dataclass(frozen=True, slots=True)
class OrgFacts:
    """What every page of an organisation shows: its name, locale, zone, features."""

    org_id: str
    name: str
    locale: str
    time_zone: str
    features: dict[str, bool]


@lru_cache(maxsize=1)
def _org_cache() -> TtlCache[str, OrgFacts | None]:
    return TtlCache(get_api_settings().membership_cache_seconds)


def _load_org(org_id: str) -> OrgFacts | None:
    settings: OrgSettings | None = api_deps.repository().get_org(org_id)
    features = api_deps.access_repository().org_features(org_id)
    if settings is None:
        return OrgFacts(org_id, org_id, "en-GB", "UTC", features)
    return OrgFacts(
        org_id,
        settings.name,
        settings.default_locale or "en-GB",
        settings.time_zone,
        features,
    )


def org_facts(org_id: str | None) -> OrgFacts | None:
    """Read by key at most once per cache period per organisation (like memberships)."""
    if org_id is None:
        return None
    return _org_cache().get(org_id, _load_org)


def forget_org(org_id: str) -> None:
    """After a page changed the organisation's settings or features."""
    _org_cache().forget(org_id)
