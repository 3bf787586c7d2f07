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


def test_voiding_a_sent_statement_renders_the_void_pdf_and_mails_the_notice_once(
    http: Any, repo: Any, make_user: Any, sign_in: Any, org_id: str
) -> None:
    import io
    from email.header import decode_header, make_header

    from pypdf import PdfReader

    (st,) = seed(repo, org_id, ["c1"])
    t = bearer(sign_in(make_user({org_id: "ADMIN"})))
    assert http.post(f"/api/billing/statements/{st.id}/send", headers=t).status_code == 200
    before = len(mails())

    resp = http.post(
        f"/api/billing/statements/{st.id}/void", json={"reason": "duplicate"}, headers=t
    )

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "void" and body["void"]["noticeSentAt"]
    notice = mails()[before:]
    assert len(notice) == 1
    subject = str(make_header(decode_header(notice[0]["Subject"])))
    assert subject.startswith("Void: statement ")
    link = http.get(f"/api/billing/statements/{st.id}/pdf", headers=t).headers["location"]
    assert "-r1.pdf" in link
    pdf = httpx.get(link, timeout=30).content
    assert "VOID" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    # A re-send of a void statement whose notice went out sends nothing more.
    again = http.post(f"/api/billing/statements/{st.id}/resend", headers=t)
    assert again.status_code == 409 and len(mails()) == before + 1
