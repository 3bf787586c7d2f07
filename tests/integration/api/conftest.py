"""The billing API over real HTTP on loopback: uvicorn serving create_app() against the
session's local stack, real Cognito on moto (TOTP checked), real JWT verification."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from psa_billing.api import deps as api_deps
from psa_billing.auth import totp


@dataclass(frozen=True)
class User:
    email: str
    password: str
    sub: str


def fresh_code() -> str:
    """moto checks the code against this 30 s step only: never hand it one about to expire."""
    from psa_billing_dev.local.cognito import local_totp_secret

    if totp.seconds_left() <= 2:
        time.sleep(totp.seconds_left() + 0.1)
    return totp.current_code(local_totp_secret())


@pytest.fixture(scope="session")
def api(local_stack: Any, repo: Any) -> Iterator[Any]:
    from psa_billing_dev.local.api_server import start_api_server

    server = start_api_server(local_stack, port=0)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def http(api: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=60, follow_redirects=False) as client:
        yield client


@pytest.fixture(scope="session")
def pool(local_stack: Any) -> Any:
    from psa_billing_dev.local.cognito import PoolRef

    res = local_stack.resources
    return PoolRef(res.user_pool_id, res.user_pool_client_id, res.region)


@pytest.fixture(scope="session")
def access(local_stack: Any) -> Any:
    from psa_billing.api import deps

    return deps.access_repository()


@pytest.fixture(scope="session")
def make_user(local_stack: Any, pool: Any, access: Any) -> Callable[..., User]:
    from psa_billing_dev.cli.users import create_user_with_mfa
    from psa_billing_dev.local.cognito import idp_client

    idp = idp_client(local_stack.endpoint)

    def make(memberships: dict[str, str] | None = None) -> User:
        email = f"u-{uuid.uuid4().hex[:10]}@example.test"
        password = f"Pw-{uuid.uuid4().hex[:12]}A1"
        if totp.seconds_left() <= 2:  # enrolment checks a code too
            time.sleep(totp.seconds_left() + 0.1)
        sub, _ = create_user_with_mfa(idp, pool, email, password)
        for org, role in (memberships or {}).items():
            access.put_membership(sub, email, org, role)
        return User(email, password, sub)

    return make


@pytest.fixture(scope="session")
def sign_in(http: httpx.Client) -> Callable[[User], dict[str, Any]]:
    def login(user: User) -> dict[str, Any]:
        resp = http.post(
            "/api/auth/login",
            json={"email": user.email, "password": user.password, "mfaCode": fresh_code()},
        )
        assert resp.status_code == 200, resp.text
        tokens: dict[str, Any] = resp.json()
        return tokens

    return login


def bearer(tokens: dict[str, Any] | str) -> dict[str, str]:
    token = tokens if isinstance(tokens, str) else tokens["accessToken"]
    return {"authorization": f"Bearer {token}"}


# Route tests' stand-in for the render and send functions, and a signed-in ADMIN
# (test_writes.py, test_corrections_api.py).
class FakeWorkers:
    """Stands in for the render and send functions in route tests (the real ones are
    invoked through Lambda in test_workers_through_lambda)."""

    def __init__(self) -> None:
        self.rendered: list[tuple[str, int]] = []
        self.sent: list[tuple[str, int, bool]] = []
        self.notices: list[tuple[str, int, str]] = []

    def render(self, statement_id: str, revision: int) -> str:
        self.rendered.append((statement_id, revision))
        return f"statements/fake/{statement_id}-r{revision}.pdf"

    def send(
        self,
        statement_id: str,
        revision: int,
        pdf_key: str,
        *,
        again: bool,
        notice: str = "statement",
    ) -> bool:
        if notice == "void":
            self.notices.append((statement_id, revision, pdf_key))
        else:
            self.sent.append((statement_id, revision, again))
        return True


@pytest.fixture
def workers(api: Any) -> Iterator[FakeWorkers]:
    fake = FakeWorkers()
    api.app.dependency_overrides[api_deps.workers] = lambda: fake
    try:
        yield fake
    finally:
        api.app.dependency_overrides.pop(api_deps.workers, None)


@pytest.fixture
def admin(make_user: Any, sign_in: Any, org_id: str) -> tuple[Any, dict[str, str]]:
    user = make_user({org_id: "ADMIN"})
    return user, bearer(sign_in(user))
