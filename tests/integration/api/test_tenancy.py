"""Roles and tenancy: another organisation's data is never shown (404 by id, absent
from lists, refused by cursor); a member whose role lacks billing gets 403."""

from __future__ import annotations

from typing import Any

import pytest

from psa_billing.domain.model import Period
from tests.integration.api.conftest import bearer
from tests.integration.api.seed import seed


@pytest.fixture
def two_orgs(repo: Any, org_id: str) -> tuple[str, str, list[Any], list[Any]]:
    other = org_id + "-b"
    mine = seed(repo, org_id, ["c1", "c2", "c3"])
    theirs = seed(repo, other, ["c1", "c2"])
    return org_id, other, mine, theirs


def _ids(resp: Any) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [s["id"] for s in resp.json()["items"]]


def test_lists_hold_only_the_callers_organisations(
    http: Any, make_user: Any, sign_in: Any, two_orgs: Any
) -> None:
    a, b, mine, theirs = two_orgs
    ta = bearer(sign_in(make_user({a: "ADMIN"})))
    tb = bearer(sign_in(make_user({b: "OWNER"})))
    assert sorted(_ids(http.get("/api/billing/statements", headers=ta))) == sorted(
        s.id for s in mine
    )
    assert sorted(_ids(http.get("/api/billing/statements", headers=tb))) == sorted(
        s.id for s in theirs
    )
    # Asking for the other organisation by name is "not found", not its data.
    resp = http.get("/api/billing/statements", params={"orgId": b}, headers=ta)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    csv = http.get("/api/billing/statements.csv", params={"period": "2026-10"}, headers=ta)
    assert csv.status_code == 200
    assert b not in csv.text and a in csv.text


def test_another_organisations_things_by_id_are_404(
    http: Any, make_user: Any, sign_in: Any, two_orgs: Any
) -> None:
    a, b, _, theirs = two_orgs
    ta = bearer(sign_in(make_user({a: "ADMIN"})))
    sid = theirs[0].id
    answers = [
        http.get(f"/api/billing/statements/{sid}", headers=ta),
        http.get(f"/api/billing/statements/{sid}/pdf", headers=ta),
        http.post(
            f"/api/billing/statements/{sid}/adjustments",
            json={"kind": "credit", "amount": "1.00", "description": "x", "reason": "y"},
            headers=ta,
        ),
        http.post(f"/api/billing/statements/{sid}/send", headers=ta),
        http.get("/api/customers/c1/billing", params={"orgId": b}, headers=ta),
        http.get(f"/api/orgs/{b}", headers=ta),
        http.get("/api/billing/runs/seed", headers=ta),
    ]
    assert [r.status_code for r in answers] == [404] * len(answers)
    assert all(r.json()["error"]["code"] == "not_found" for r in answers)
    assert all(sid not in r.text or "no statement" in r.text for r in answers)


def test_a_cursor_is_bound_to_its_caller(
    http: Any, make_user: Any, sign_in: Any, two_orgs: Any
) -> None:
    a, b, _, _ = two_orgs
    ta = bearer(sign_in(make_user({a: "ADMIN"})))
    tb = bearer(sign_in(make_user({b: "ADMIN"})))
    first = http.get("/api/billing/statements", params={"limit": 1}, headers=ta).json()
    cursor = first["nextCursor"]
    assert cursor
    stolen = http.get("/api/billing/statements", params={"cursor": cursor}, headers=tb)
    assert stolen.status_code == 400 and stolen.json()["error"]["code"] == "invalid_cursor"
    body, mac = cursor.split(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac
    resp = http.get("/api/billing/statements", params={"cursor": forged}, headers=ta)
    assert resp.status_code == 400
    other_filter = http.get(
        "/api/billing/statements", params={"cursor": cursor, "period": "2026-09"}, headers=ta
    )
    assert other_filter.status_code == 400


ROLE_CASES = [
    # role, list statements, one statement, adjust, GET org, PUT org
    ("OWNER", 200, 200, 201, 200, 200),
    ("ADMIN", 200, 200, 201, 200, 403),
    ("TECHNICIAN", 403, 403, 403, 200, 403),
    ("CLIENT", 403, 403, 403, 200, 403),
]


@pytest.mark.parametrize(("role", "ls", "one", "adj", "get_org", "put_org"), ROLE_CASES)
def test_what_each_role_may_do(
    http: Any,
    make_user: Any,
    sign_in: Any,
    repo: Any,
    org_id: str,
    role: str,
    ls: int,
    one: int,
    adj: int,
    get_org: int,
    put_org: int,
) -> None:
    (st,) = seed(repo, org_id, ["c1"])
    t = bearer(sign_in(make_user({org_id: role})))
    got = [
        http.get("/api/billing/statements", headers=t).status_code,
        http.get(f"/api/billing/statements/{st.id}", headers=t).status_code,
        http.post(
            f"/api/billing/statements/{st.id}/adjustments",
            json={"kind": "credit", "amount": "1.00", "description": "goodwill", "reason": "r"},
            headers=t,
        ).status_code,
        http.get(f"/api/orgs/{org_id}", headers=t).status_code,
        http.put(
            f"/api/orgs/{org_id}", json={"features": {"projects": True}}, headers=t
        ).status_code,
    ]
    assert got == [ls, one, adj, get_org, put_org]


def test_billing_rights_in_one_org_do_not_leak_into_another(
    http: Any, make_user: Any, sign_in: Any, two_orgs: Any
) -> None:
    a, b, mine, theirs = two_orgs
    t = bearer(sign_in(make_user({a: "ADMIN", b: "TECHNICIAN"})))
    assert sorted(_ids(http.get("/api/billing/statements", headers=t))) == sorted(
        s.id for s in mine
    )
    resp = http.get(f"/api/billing/statements/{theirs[0].id}", headers=t)
    assert resp.status_code == 403  # a member of b, without billing: told so, shown nothing
    assert "lines" not in resp.text


def test_paging_250_statements_has_no_duplicate_and_no_gap(
    http: Any, make_user: Any, sign_in: Any, repo: Any, org_id: str
) -> None:
    periods = [Period(2026, m) for m in (6, 7, 8, 9, 10)]
    made = seed(repo, org_id, [f"k{n:03d}" for n in range(50)], periods)
    assert len(made) == 250
    t = bearer(sign_in(make_user({org_id: "ADMIN"})))
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 37}
        if cursor:
            params["cursor"] = cursor
        page = http.get("/api/billing/statements", params=params, headers=t).json()
        seen += page["items"]
        pages += 1
        cursor = page["nextCursor"]
        if not cursor:
            break
    ids = [s["id"] for s in seen]
    assert len(ids) == len(set(ids)) == 250
    assert set(ids) == {s.id for s in made}
    assert pages == 7
    assert [s["period"] for s in seen] == sorted((s["period"] for s in seen), reverse=True)
    only = http.get(
        "/api/billing/statements", params={"period": "2026-08", "limit": 200}, headers=t
    ).json()
    assert len(only["items"]) == 50 and {s["period"] for s in only["items"]} == {"2026-08"}
    one = http.get("/api/billing/statements", params={"customerId": "k007"}, headers=t).json()
    assert [s["period"] for s in one["items"]] == [
        "2026-10",
        "2026-09",
        "2026-08",
        "2026-07",
        "2026-06",
    ]
