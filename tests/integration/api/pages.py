"""Helpers for the page tests: a TestClient on the API fixture's own app (in process,
against the session's local stack), and signing in through the sign-in page."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.integration.api.conftest import User, fresh_code

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def browser(api: Any, base_url: str = "http://127.0.0.1") -> TestClient:
    """A client that keeps cookies like a browser and does not follow redirects."""
    return TestClient(api.app, base_url=base_url, follow_redirects=False)


def csrf_of(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def page_sign_in(client: TestClient, user: User, next_url: str = "/") -> Any:
    form = client.get("/signin", params={"next": next_url})
    assert form.status_code == 200, form.text
    resp = client.post(
        "/signin",
        data={
            "csrf_token": csrf_of(form.text),
            "email": user.email,
            "password": user.password,
            "code": fresh_code(),
            "next": next_url,
        },
    )
    assert resp.status_code == 303, resp.text
    return resp
