"""The portal's session: sign-in through the page, cookies (HttpOnly, SameSite=Lax,
Secure but on loopback), no token in any page, renewal with the refresh token,
sign-out, CSRF on every form, and the security headers."""

from __future__ import annotations

import re
from typing import Any

from tests.integration.api.conftest import fresh_code
from tests.integration.api.pages import browser, csrf_of, page_sign_in


def _cookie_headers(resp: Any) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in resp.headers.get_list("set-cookie")}


def test_sign_in_page_has_the_standard_inputs(api: Any) -> None:
    page = browser(api).get("/signin").text
    assert re.search(
        r'<input id="f-email" name="email" type="email"[^>]*autocomplete="username"', page
    )
    assert re.search(r'name="password" type="password"[^>]*autocomplete="current-password"', page)
    code = re.search(r'<input id="f-code" name="code"[^>]*>', page)
    assert code and 'autocomplete="one-time-code"' in code.group(0)
    assert 'inputmode="numeric"' in code.group(0)
    for fid in ("f-email", "f-password", "f-code"):
        assert f'<label for="{fid}">' in page


def test_signed_in_browser_holds_http_only_lax_cookies_and_no_token_in_pages(
    api: Any, make_user: Any, org_id: str
) -> None:
    client = browser(api)
    resp = page_sign_in(client, make_user({org_id: "TECHNICIAN"}))
    cookies = _cookie_headers(resp)
    assert set(cookies) == {"psa_access", "psa_refresh", "psa_session"}
    for header in cookies.values():
        assert "HttpOnly" in header and "SameSite=lax" in header
        assert "Secure" not in header  # plain HTTP on loopback: browsers would drop them
    access = client.cookies["psa_access"]
    refresh = client.cookies["psa_refresh"]
    home = client.get("/")
    assert home.status_code == 200 and "Signed in" in home.text
    assert access not in home.text and refresh not in home.text
    assert "localStorage" not in home.text and "<script" not in home.text


def test_cookies_are_secure_anywhere_but_loopback(api: Any, make_user: Any, org_id: str) -> None:
    client = browser(api, base_url="https://portal.example")
    resp = page_sign_in(client, make_user({org_id: "ADMIN"}))
    for header in _cookie_headers(resp).values():
        assert "Secure" in header and "HttpOnly" in header


def test_wrong_details_get_one_message_and_no_session(
    api: Any, make_user: Any, org_id: str
) -> None:
    user = make_user({org_id: "ADMIN"})
    client = browser(api)
    token = csrf_of(client.get("/signin").text)
    answers = []
    for email, password, code in (
        (user.email, "wrong-Password1", fresh_code()),
        (user.email, user.password, "000000" if fresh_code() != "000000" else "111111"),
        ("nobody-" + user.email, user.password, fresh_code()),
    ):
        resp = client.post(
            "/signin",
            data={"csrf_token": token, "email": email, "password": password, "code": code},
        )
        answers.append(resp)
    assert [r.status_code for r in answers] == [401, 401, 401]
    messages = {
        re.search(r'class="notice notice--error"[^>]*>([^<]+)<', r.text).group(1) for r in answers
    }  # type: ignore[union-attr]
    assert messages == {"Email, password or code is not correct. Check them and try again."}
    assert all("psa_access" not in r.headers.get("set-cookie", "") for r in answers)


def test_a_code_that_is_not_six_digits_is_named_beside_its_field(api: Any) -> None:
    client = browser(api)
    token = csrf_of(client.get("/signin").text)
    resp = client.post(
        "/signin",
        data={"csrf_token": token, "email": "a@example.test", "password": "x", "code": "12"},
    )
    assert resp.status_code == 422
    assert 'id="f-code-error">Enter the 6 digits your authenticator app shows.' in resp.text
    assert 'aria-invalid="true"' in resp.text


def test_repeated_failures_lock_the_account_with_a_message(
    api: Any, make_user: Any, org_id: str
) -> None:
    user = make_user({org_id: "ADMIN"})
    client = browser(api)
    token = csrf_of(client.get("/signin").text)
    statuses = []
    for _ in range(5):
        resp = client.post(
            "/signin",
            data={
                "csrf_token": token,
                "email": user.email,
                "password": "bad-Pass1",
                "code": "123456",
            },
        )
        statuses.append(resp.status_code)
    assert statuses == [401, 401, 401, 401, 429]
    right = client.post(
        "/signin",
        data={
            "csrf_token": token,
            "email": user.email,
            "password": user.password,
            "code": fresh_code(),
        },
    )
    assert right.status_code == 429 and "locked for 15 minutes" in right.text
    assert right.headers["retry-after"]


def test_sign_in_returns_to_the_page_asked_for_and_only_on_this_site(
    api: Any, make_user: Any, org_id: str
) -> None:
    client = browser(api)
    first = client.get("/?org=" + org_id)
    assert first.status_code == 303
    assert first.headers["location"] == f"/signin?next=/%3Forg%3D{org_id}"
    resp = page_sign_in(client, make_user({org_id: "TECHNICIAN"}), next_url=f"/?org={org_id}")
    assert resp.headers["location"] == f"/?org={org_id}"
    other = browser(api)
    resp = page_sign_in(other, make_user({org_id: "ADMIN"}), next_url="//evil.example/x")
    assert resp.headers["location"] == "/"


def test_an_expired_access_token_is_renewed_with_the_refresh_token(
    api: Any, make_user: Any, org_id: str
) -> None:
    client = browser(api)
    page_sign_in(client, make_user({org_id: "TECHNICIAN"}))
    client.cookies.set("psa_access", "expired.or.garbage", domain="127.0.0.1", path="/")
    resp = client.get("/")
    assert resp.status_code == 200
    renewed = _cookie_headers(resp)
    assert "psa_access" in renewed and "HttpOnly" in renewed["psa_access"]
    assert client.cookies["psa_access"] != "expired.or.garbage"


def test_sign_out_ends_the_cognito_session_and_clears_the_cookies(
    api: Any, make_user: Any, org_id: str
) -> None:
    client = browser(api)
    page_sign_in(client, make_user({org_id: "TECHNICIAN"}))
    stolen = {name: client.cookies[name] for name in ("psa_access", "psa_refresh", "psa_session")}
    token = csrf_of(client.get("/").text)
    resp = client.post("/signout", data={"csrf_token": token})
    assert resp.status_code == 303 and resp.headers["location"] == "/signin?signed-out=1"
    cleared = _cookie_headers(resp)
    assert 'psa_access=""' in cleared["psa_access"] and "Max-Age=0" in cleared["psa_access"]
    assert "You are signed out." in client.get(resp.headers["location"]).text
    # The old cookies replayed: the access token is refused (signed out since it was
    # issued) and the refresh token no longer works in Cognito.
    replay = browser(api)
    for name, value in stolen.items():
        replay.cookies.set(name, value, domain="127.0.0.1", path="/")
    again = replay.get("/")
    assert again.status_code == 303 and again.headers["location"].startswith("/signin")


def test_a_form_post_without_the_right_csrf_token_is_refused(
    api: Any, make_user: Any, org_id: str
) -> None:
    client = browser(api)
    page_sign_in(client, make_user({org_id: "TECHNICIAN"}))
    other = browser(api)
    page_sign_in(other, make_user({org_id: "TECHNICIAN"}))
    someone_elses = csrf_of(other.get("/").text)
    mine = csrf_of(client.get("/").text)
    refused = [
        client.post("/signout", data={}),
        client.post("/signout", data={"csrf_token": "forged"}),
        client.post("/signout", data={"csrf_token": someone_elses}),
        client.post("/signout", json={"csrf_token": mine}),
        client.post(
            "/signout", data={"csrf_token": mine}, headers={"origin": "https://evil.example"}
        ),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert all("This form has expired" in r.text for r in refused)
    assert client.get("/").status_code == 200  # still signed in: nothing happened
    assert client.post("/signout", data={"csrf_token": mine}).status_code == 303


def test_every_page_sends_the_security_headers(api: Any, make_user: Any, org_id: str) -> None:
    client = browser(api)
    answers = [client.get("/signin"), client.get("/no-such-page"), client.get("/")]
    page_sign_in(client, make_user({org_id: "TECHNICIAN"}))
    answers += [client.get("/"), client.post("/signout", data={})]
    for resp in answers:
        csp = resp.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "'unsafe-inline'" not in csp
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "same-origin"
    assert answers[1].status_code == 404 and "Not found" in answers[1].text


def test_the_stylesheet_is_served_from_this_site(api: Any) -> None:
    resp = browser(api).get("/static/portal.css")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/css")
    assert "@media (max-width: 40rem)" in resp.text
