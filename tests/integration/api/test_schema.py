"""The OpenAPI document against the live local API: schemathesis, signed in, a bounded
number of examples per operation; no 5xx and no response outside the schema.

Marked ``slow`` (deselect with ``-m "not slow"``); each operation is its own test, so
it runs in parallel with pytest-xdist where that is installed.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from psa_billing.api.app import create_app
from tests.integration.api.seed import seed

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def signed_in(make_user: Any, sign_in: Any, repo: Any) -> dict[str, str]:
    org = "schema-org"
    seed(repo, org, ["c1", "c2"])
    tokens = sign_in(make_user({org: "OWNER"}))
    return {"authorization": f"Bearer {tokens['accessToken']}"}


# The document the live API serves at /api/openapi.json is create_app()'s; loading it
# here lets pytest collect one test per operation before the server (and its port) exists.
schema = schemathesis.openapi.from_dict(create_app().openapi())


def test_the_live_api_serves_this_document(http: Any) -> None:
    assert http.get("/api/openapi.json").json() == create_app().openapi()


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_answers_within_its_schema(
    case: Any, api: Any, signed_in: dict[str, str]
) -> None:
    if case.path == "/api/auth/logout":
        return  # would sign the shared test user out; covered in test_auth.py
    generated = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    headers = {**generated, **signed_in}
    case.call_and_validate(base_url=api.url, headers=headers, checks=CHECKS, timeout=60)
