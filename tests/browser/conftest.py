"""Fixtures of the browser tests: the real local stack as ``psa-billing local up --demo``
starts it (moto with the real handlers and state machine, the API and the portal pages
under uvicorn, the InvoiceNinja stand-in seeded for the demo organisation), a user of
each role, and headless Chromium driven by Playwright.

Session-wide (started once per pytest process, on free ports):
  ``portal``        the running API (``portal.url``); every page is under it
  ``invoiceninja``  the InvoiceNinja stand-in (``.url``, ``.token``, ``.state`` = its data)
  ``demo``          the demo organisation, imported and billed for last month (``Demo``)
  ``users``         ``users["OWNER" | "ADMIN" | "TECHNICIAN" | "CLIENT"]`` in the demo
                    organisation, ``users["OUTSIDER"]`` OWNER of another organisation
  ``access``        the API's access repository (memberships, customers' settings)
  ``chromium``      the browser
Per test:
  ``context``, ``page``  a fresh browser context (no cookies) at 1280 x 900, whose
                    relative URLs go to the portal (``page.goto("/billing")``)
  ``signed_in``     ``signed_in("ADMIN")`` signs ``page`` in as that user and returns it
  ``invoiceninja_as``  ``invoiceninja_as("not_configured" | "unreachable" | "bad_token")``
                    changes what the API is configured with, for this test only
  ``page_errors``   script errors and console errors the page reported (CSP refusals
                    show up here)
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from psa_billing.auth import totp
from tests.browser.harness import CHROMIUM_ARGS, User, chromium_path, sign_in

DEMO_ORG = "demo-msp"
OTHER_ORG = "other-msp"
# The demo data the stand-in is seeded with too, so its clients match the customers.
DEMO_CUSTOMERS = 12
DEMO_SEED = 7
ROLES = ("OWNER", "ADMIN", "TECHNICIAN", "CLIENT")
_IN_ENV = ("INVOICENINJA_URL", "INVOICENINJA_TOKEN")


@dataclass(frozen=True)
class Demo:
    org_id: str
    period: str  # "2026-11"
    customer_ids: tuple[str, ...]  # every customer of the demo document
    statement_ids: tuple[str, ...]  # the statements last month's run made
    run_id: str

    @property
    def customer_id(self) -> str:
        return self.customer_ids[0]

    @property
    def statement_id(self) -> str:
        return self.statement_ids[0]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _configure_invoiceninja(url: str | None, token: str | None) -> None:
    from psa_billing.invoiceninja import wiring

    for name, value in zip(_IN_ENV, (url, token), strict=True):
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    wiring.reset()


@pytest.fixture(scope="session")
def invoiceninja() -> Iterator[Any]:
    """The stand-in, configured the way an MSP configures the real one (environment)."""
    from psa_billing_dev.invoiceninja_standin import start

    saved = {name: os.environ.get(name) for name in _IN_ENV}
    standin = start(customers=DEMO_CUSTOMERS, seed=DEMO_SEED, org_id=DEMO_ORG)
    _configure_invoiceninja(standin.url, standin.token)
    try:
        yield standin
    finally:
        standin.stop()
        _configure_invoiceninja(saved["INVOICENINJA_URL"], saved["INVOICENINJA_TOKEN"])


@pytest.fixture
def invoiceninja_as(invoiceninja: Any) -> Iterator[Callable[[str], None]]:
    """Reconfigure the API's InvoiceNinja for one test: ``connected`` (the stand-in),
    ``not_configured`` (no URL or token), ``unreachable`` (a port nothing listens on),
    ``bad_token`` (the stand-in, refusing the token). Put back afterwards."""

    def use(state: str) -> None:
        if state == "connected":
            _configure_invoiceninja(invoiceninja.url, invoiceninja.token)
        elif state == "not_configured":
            _configure_invoiceninja(None, None)
        elif state == "unreachable":
            _configure_invoiceninja(f"http://127.0.0.1:{_free_port()}", invoiceninja.token)
        elif state == "bad_token":
            _configure_invoiceninja(invoiceninja.url, "not-" + invoiceninja.token)
        else:
            raise ValueError(f"unknown InvoiceNinja state {state!r}")

    try:
        yield use
    finally:
        _configure_invoiceninja(invoiceninja.url, invoiceninja.token)


@pytest.fixture(scope="session")
def portal(local_stack: Any, repo: Any, invoiceninja: Any) -> Iterator[Any]:
    """The API function's app (JSON routes and pages) under uvicorn on a free port."""
    from psa_billing_dev.local.api_server import start_api_server

    server = start_api_server(local_stack, port=0)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def demo(portal: Any, repo: Any) -> Demo:
    """The demo organisation as ``local up --demo`` leaves it: imported, with its
    document settings and the "projects" feature, and last month billed through the
    real state machine."""
    from datetime import UTC, datetime

    from psa_billing.domain.model import Period
    from psa_billing_dev.cli.localdemo import prepare_demo_org
    from psa_billing_dev.demo import demo_document
    from tests.support import bill

    period = Period.before(datetime.now(UTC).date())
    prepare_demo_org(repo, customers=DEMO_CUSTOMERS, seed=DEMO_SEED, period=period, org_id=DEMO_ORG)
    result = bill(repo, DEMO_ORG, period)
    assert result.status == "SUCCEEDED", result
    doc = demo_document(DEMO_CUSTOMERS, DEMO_SEED, period, org_id=DEMO_ORG)
    statements = sorted(repo.list_statements(DEMO_ORG, str(period)), key=lambda s: s.customer_id)
    assert statements, "the demo run billed nobody"
    return Demo(
        org_id=DEMO_ORG,
        period=str(period),
        customer_ids=tuple(c["id"] for c in doc["customers"]),
        statement_ids=tuple(s.id for s in statements),
        run_id=result.run_id,
    )


@pytest.fixture(scope="session")
def access(portal: Any) -> Any:
    """The memberships and customers' settings repository (as the API's own)."""
    from psa_billing.api import deps

    return deps.access_repository()


@pytest.fixture(scope="session")
def users(local_stack: Any, portal: Any, demo: Demo) -> dict[str, User]:
    """One person per role in the demo organisation, and an OWNER of another one, made
    as ``psa-billing users add`` makes them (Cognito user, TOTP enrolled, membership)."""
    from psa_billing.api import deps
    from psa_billing_dev.cli.users import create_user_with_mfa
    from psa_billing_dev.local.cognito import PoolRef, idp_client

    res = local_stack.resources
    pool = PoolRef(res.user_pool_id, res.user_pool_client_id, res.region)
    idp = idp_client(local_stack.endpoint)
    access = deps.access_repository()
    made: dict[str, User] = {}
    wanted = [(role, DEMO_ORG, role) for role in ROLES] + [("OUTSIDER", OTHER_ORG, "OWNER")]
    for key, org_id, role in wanted:
        email = f"{key.lower()}-{uuid.uuid4().hex[:6]}@{org_id}.example"
        password = f"Pw-{uuid.uuid4().hex[:12]}A1"
        if totp.seconds_left() <= 2:  # enrolment checks a code too
            time.sleep(totp.seconds_left() + 0.1)
        sub, _ = create_user_with_mfa(idp, pool, email, password)
        access.put_membership(sub, email, org_id, role)
        made[key] = User(email, password, sub, org_id, role)
    return made


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    try:
        executable = chromium_path()
    except FileNotFoundError as exc:
        pytest.fail(str(exc), pytrace=False)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(chromium: Any, portal: Any) -> Iterator[Any]:
    ctx = chromium.new_context(
        base_url=portal.url, viewport={"width": 1280, "height": 900}, locale="en-GB"
    )
    ctx.set_default_timeout(20_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page_errors() -> list[str]:
    return []


@pytest.fixture
def page(context: Any, page_errors: list[str]) -> Any:
    p = context.new_page()
    p.on("pageerror", lambda exc: page_errors.append(f"script error: {exc}"))
    # A resource that failed, with its URL (the console's own line does not name it).
    p.on(
        "response",
        lambda r: (
            page_errors.append(f"HTTP {r.status} for {r.request.resource_type} {r.url}")
            if r.status >= 400 and r.request.resource_type != "document"
            else None
        ),
    )
    p.on(
        "console",
        lambda msg: (
            page_errors.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    return p


@pytest.fixture
def signed_in(page: Any, users: dict[str, User]) -> Callable[..., Any]:
    """``signed_in("ADMIN")``: ``page``, signed in as that user of the demo org."""

    def as_role(role: str = "OWNER", *, next_path: str | None = None) -> Any:
        sign_in(page, users[role], next_path=next_path)
        return page

    return as_role
