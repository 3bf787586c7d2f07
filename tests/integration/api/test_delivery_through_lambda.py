"""Send, PDF and adjust with the real render and send functions, invoked through the
local Lambda (the API never renders or emails itself)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.api.conftest import bearer
from tests.integration.api.seed import seed
from tests.support import mails


def test_send_renders_and_mails_through_the_functions_and_the_pdf_link_works(
    http: Any, repo: Any, make_user: Any, sign_in: Any, org_id: str
) -> None:
    (st,) = seed(repo, org_id, ["c1"])
    t = bearer(sign_in(make_user({org_id: "ADMIN"})))
    before = len(mails())
    resp = http.post(f"/api/billing/statements/{st.id}/send", headers=t)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["sent"] is True
    assert body["statement"]["delivery"]["status"] == "sent"
    assert len(mails()) == before + 1
    pdf = http.get(f"/api/billing/statements/{st.id}/pdf", headers=t)
    assert pdf.status_code == 302
    got = httpx.get(pdf.headers["location"], timeout=30)
    assert got.status_code == 200 and got.content.startswith(b"%PDF")
    adjusted = http.post(
        f"/api/billing/statements/{st.id}/adjustments",
        json={"kind": "credit", "amount": "1.00", "description": "Goodwill", "reason": "late"},
        headers=t,
    )
    assert adjusted.status_code == 201
    new_pdf = http.get(f"/api/billing/statements/{st.id}/pdf", headers=t)
    old_pdf = http.get(f"/api/billing/statements/{st.id}/pdf?revision=0", headers=t)
    assert new_pdf.headers["location"] != old_pdf.headers["location"]
    assert "-r1.pdf" in new_pdf.headers["location"]
    missing = http.get(f"/api/billing/statements/{st.id}/pdf?revision=7", headers=t)
    assert missing.status_code == 404
