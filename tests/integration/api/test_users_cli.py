"""`psa-billing users` and `clients` as a person runs them, in another process, against
the session's local stack (the server side of it: moto over loopback)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from typing import Any

import httpx

from tests.integration.api.conftest import bearer

CLI = [sys.executable, "-m", "psa_billing_dev.cli.main"]


def _cli(local_stack: Any, api: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_", "USER_POOL"))}
    env["PSA_BILLING_LOCAL_PORT"] = str(local_stack.port)
    env["PSA_BILLING_API_PORT"] = str(api.port)
    return subprocess.run(
        [*CLI, *args], check=False, env=env, capture_output=True, text=True, timeout=120
    )


def test_users_add_prints_what_the_user_needs_to_sign_in(
    local_stack: Any, api: Any, http: Any, org_id: str
) -> None:
    email = f"New-{uuid.uuid4().hex[:8]}@Example.test"
    added = _cli(local_stack, api, "users", "add", email, "--org", org_id, "--role", "admin")
    assert added.returncode == 0, added.stderr
    password = re.search(r"password:\s+(\S+)", added.stdout)
    uri = re.search(r"otpauth URI:\s+(otpauth://totp/\S+)", added.stdout)
    assert password and uri and "secret=" in uri.group(1)
    code = _cli(local_stack, api, "users", "code", email)
    assert code.returncode == 0 and re.fullmatch(r"\d{6}\n", code.stdout)
    login = http.post(
        "/api/auth/login",
        json={"email": email, "password": password.group(1), "mfaCode": code.stdout.strip()},
    )
    assert login.status_code == 200, login.text
    assert http.get("/api/billing/statements", headers=bearer(login.json())).status_code == 200

    again = _cli(
        local_stack, api, "users", "add", email, "--org", org_id + "-2", "--role", "CLIENT"
    )
    assert again.returncode == 0 and "existing user" in again.stdout
    listed = _cli(local_stack, api, "users", "list", "--org", org_id)
    assert email.lower() in listed.stdout and "ADMIN" in listed.stdout
    role = _cli(local_stack, api, "users", "set-role", email, "--org", org_id, "--role", "OWNER")
    assert role.returncode == 0 and "OWNER" in role.stdout
    removed = _cli(local_stack, api, "users", "remove", email, "--org", org_id)
    assert removed.returncode == 0
    assert email.lower() not in _cli(local_stack, api, "users", "list", "--org", org_id).stdout
    missing = _cli(local_stack, api, "users", "remove", email, "--org", org_id)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr


def test_clients_add_prints_a_secret_that_gets_a_read_only_token(
    local_stack: Any, api: Any, http: Any, org_id: str
) -> None:
    added = _cli(local_stack, api, "clients", "add", "--org", org_id)
    assert added.returncode == 0, added.stderr
    client_id = re.search(r"client id:\s+(\S+)", added.stdout)
    secret = re.search(r"client secret:\s+(\S+)", added.stdout)
    assert client_id and secret
    token = httpx.post(
        f"{api.url}/local-oauth/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id.group(1), secret.group(1)),
    )
    assert token.status_code == 200, token.text
    access = token.json()["access_token"]
    assert http.get("/api/billing/statements", headers=bearer(access)).status_code == 200
    wrong = httpx.post(
        f"{api.url}/local-oauth/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id.group(1), "not-the-secret"),
    )
    assert wrong.status_code == 401
