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


def test_a_void_notice_left_unknown_is_resent_only_anyway_or_marked_sent_by_a_person(
    http: Any, repo: Any, make_user: Any, sign_in: Any, org_id: str
) -> None:
    """docs/reliability.md, the void notice: its sender stopped after handing it to SES.
    The API shows it unknown with what is known; a re-send is a 409 with the reason (a
    second notice only on purpose); anyway=true sends it once, through the send
    function. Another, marked sent by a person, is recorded by name and mails nothing."""
    from tests.support import leave_notice_claim, sent_then_voided

    first, second = seed(repo, org_id, ["c1", "c2"])
    admin = make_user({org_id: "ADMIN"})
    t = bearer(sign_in(admin))
    for st in (first, second):
        sent_then_voided(repo, st.id)
        leave_notice_claim(repo, st.id, handed=True)
    before = len(mails())

    shown = http.get(f"/api/billing/statements/{first.id}", headers=t).json()["void"]["notice"]
    assert shown["state"] == "unknown"
    assert shown["claimedAt"].startswith("2000-01-01") and shown["handedToSesAt"]
    assert shown["claimExpiresAt"].startswith("2000-01-01T00:10")
    refused = http.post(f"/api/billing/statements/{first.id}/resend", headers=t)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_sendable"
    assert "may or may not have arrived" in refused.json()["error"]["message"]
    assert len(mails()) == before

    anyway = http.post(f"/api/billing/statements/{first.id}/resend?anyway=true", headers=t)
    assert anyway.status_code == 200, anyway.text
    notice = anyway.json()["statement"]["void"]["notice"]
    assert notice["state"] == "sent" and notice["markedSentBy"] is None
    assert len(mails()) == before + 1

    marked = http.post(f"/api/billing/statements/{second.id}/mark-sent", headers=t)
    assert marked.status_code == 200, marked.text
    notice = marked.json()["void"]["notice"]
    assert notice["state"] == "sent" and notice["markedSentBy"] == admin.email
    (told,) = [h for h in marked.json()["history"] if h["event"] == "void notice sent"]
    assert told["actor"] == admin.email and "recorded as sent" in told["summary"]
    assert len(mails()) == before + 1
    for sid in (first.id, second.id):
        done = http.post(f"/api/billing/statements/{sid}/resend?anyway=true", headers=t)
        assert done.status_code == 409 and "sent already" in done.json()["error"]["message"]
        again = http.post(f"/api/billing/statements/{sid}/mark-sent", headers=t)
        assert again.status_code == 409
    assert len(mails()) == before + 1


def test_a_released_void_notice_is_sent_by_a_plain_resend(
    http: Any, repo: Any, make_user: Any, sign_in: Any, org_id: str
) -> None:
    from tests.support import leave_notice_claim, sent_then_voided

    (st,) = seed(repo, org_id, ["c1"])
    t = bearer(sign_in(make_user({org_id: "ADMIN"})))
    sent_then_voided(repo, st.id)
    leave_notice_claim(repo, st.id, handed=False)
    before = len(mails())

    shown = http.get(f"/api/billing/statements/{st.id}", headers=t).json()["void"]["notice"]
    assert shown["state"] == "released" and "nothing was sent" in shown["error"]
    assert shown["handedToSesAt"] is None
    refused = http.post(f"/api/billing/statements/{st.id}/mark-sent", headers=t)
    assert refused.status_code == 409  # nothing was sent: send it, don't mark it
    resent = http.post(f"/api/billing/statements/{st.id}/resend", headers=t)
    assert resent.status_code == 200, resent.text
    assert resent.json()["statement"]["void"]["notice"]["state"] == "sent"
    assert len(mails()) == before + 1
