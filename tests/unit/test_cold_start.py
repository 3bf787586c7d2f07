"""Cold starts stay small: each function imports only what it uses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PDF_AND_EMAIL = ("fpdf", "jinja2", "psa_billing.render", "psa_billing.logic.delivery")
LOCAL_ONLY = ("moto", "click", "yaml", "psa_billing_dev.cli", "psa_billing_dev.local")


# The API function once every route group is built (api/groups.py): what a warm
# function that has served every kind of request holds.
API_WARM = "functions.api.app; functions.api.app.app.state.route_groups.build_all()"


def _modules_after_import(module: str) -> set[str]:
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def _loaded(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_api_function_does_not_import_pdf_or_email_code_with_every_route_built() -> None:
    modules = _modules_after_import(API_WARM)
    assert "psa_billing.api.routers.statements" in modules  # the groups were built
    assert _loaded(modules, PDF_AND_EMAIL) == []


def test_importing_the_api_handler_builds_no_route_group() -> None:
    """A cold function builds a group on its first request under the group's prefix:
    the import holds no router, no AWS SDK and no token library."""
    modules = _modules_after_import("functions.api.app")
    routers = ("psa_billing.api.routers", "psa_billing.web.pages", "psa_billing.invoiceninja")
    assert _loaded(modules, routers) == []
    assert _loaded(modules, ("pynamodb", "boto3", "jwt", "cryptography", "jinja2")) == []


def test_billing_function_does_not_import_pdf_or_email_code() -> None:
    modules = _modules_after_import("functions.monthly_run.app")
    assert _loaded(modules, PDF_AND_EMAIL) == []


@pytest.mark.parametrize(
    "module",
    [
        API_WARM,
        "functions.monthly_run.app",
        "functions.render_statement.app",
        "functions.send_statement.app",
    ],
)
def test_no_function_imports_local_only_tools(module: str) -> None:
    assert _loaded(_modules_after_import(module), LOCAL_ONLY) == []


@pytest.mark.parametrize(
    "module",
    [
        "psa_billing.logic.monthly",
        "psa_billing.logic.delivery",
        "psa_billing.logic.statements",
        "psa_billing.logic.importing",
        "psa_billing.logic.events",
        "psa_billing.logic.ports",
    ],
)
def test_use_cases_load_no_aws_sdk_or_adapter(module: str) -> None:
    """docs/architecture.md 4: use cases take their collaborators; only adapters import boto3."""
    modules = _modules_after_import(module)
    adapters = (
        "boto3",
        "botocore",
        "pynamodb",
        "psa_billing.dal.repository",
        "psa_billing.runtime",
    )
    assert _loaded(modules, adapters) == []


def test_api_function_imports_no_local_serving_or_dev_tools() -> None:
    modules = _modules_after_import(API_WARM)
    assert _loaded(modules, ("uvicorn", "schemathesis", "psa_billing_dev", "pytest")) == []


def test_api_function_loads_boto3_only_when_a_route_needs_it() -> None:
    """Reads go through pynamodb (botocore alone): boto3, s3transfer and Powertools'
    idempotency layer are loaded by the routes that sign in, write, link or start runs,
    not by every cold start (docs/benchmarks.md, Billing API)."""
    modules = _modules_after_import(API_WARM)
    later = ("boto3", "s3transfer", "aws_lambda_powertools.utilities.idempotency")
    assert _loaded(modules, later) == []
    assert _loaded(modules, ("psa_billing.ingest.validate", "psa_billing.dal.existing")) == []
