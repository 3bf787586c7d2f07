"""The billing pages in process against the local stack: roles and tenancy, the
monthly run page (run, progress, rows, filters, pagination, sending the review
queue), a statement's page (adjust with the API's validation, re-send, PDFs)."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from typing import Any

import httpx

from psa_billing.domain.model import Period
from psa_billing.domain.statement import Statement, StatementStatus
from tests.integration.api.pages import browser, csrf_of, page_sign_in
from tests.integration.api.seed import PERIOD, write_statements
from tests.integration.api.seed import seed as seed_statements
from tests.support import load_demo


def seed(repo: Any, org_id: str, customers: list[str]) -> list[Statement]:
    """Statements waiting for review (autoSend off), as the run leaves them."""
    made = [
        replace(st, status=StatementStatus.PENDING_REVIEW, auto_send=False)
        for st in seed_statements(repo, org_id, customers)
    ]
    write_statements(made)
    return made


def _admin(api: Any, make_user: Any, org_id: str, role: str = "ADMIN") -> Any:
    client = browser(api)
    page_sign_in(client, make_user({org_id: role}))
    return client


def _rows(html: str) -> list[str]:
    body = html.split('<table class="table table--stack" id="statements">', 1)
    if len(body) < 2:
        return []
    return re.findall(r'<a href="/statements/([^"]+)">', body[1].split("</table>", 1)[0])


def test_a_technician_or_client_gets_a_plain_no_billing_access_page(
    api: Any, repo: Any, make_user: Any, org_id: str
) -> None:
    (st,) = seed(repo, org_id, ["c1"])
    for role in ("TECHNICIAN", "CLIENT"):
        client = _admin(api, make_user, org_id, role)
        pages = [
            client.get("/admin/billing"),
            client.get(f"/statements/{st.id}"),
            client.get(f"/statements/{st.id}/pdf"),
            client.get("/admin/billing/send-pending"),
        ]
        assert [p.status_code for p in pages] == [403] * 4, role
        assert all("You don&#39;t have billing access" in p.text for p in pages)
        assert all(st.customer_name not in p.text for p in pages)
        home = client.get("/")
        assert "Monthly run" not in home.text  # the navigation offers no billing page
        token = csrf_of(home.text)
        post = client.post(
            f"/statements/{st.id}/adjust",
            data={
                "csrf_token": token,
                "kind": "credit",
                "amount": "1.00",
                "description": "x",
                "reason": "y",
            },
        )
        assert post.status_code == 403
    assert repo.get_statement(st.id).revision == 0


def test_another_organisations_statement_is_not_found(
    api: Any, repo: Any, make_user: Any, org_id: str
) -> None:
    (theirs,) = seed(repo, org_id + "-b", ["c9"])
    client = _admin(api, make_user, org_id)
    token = csrf_of(client.get("/admin/billing").text)
    answers = [
        client.get(f"/statements/{theirs.id}"),
        client.get(f"/statements/{theirs.id}/pdf"),
        client.post(
            f"/statements/{theirs.id}/adjust",
            data={
                "csrf_token": token,
                "kind": "credit",
                "amount": "1.00",
                "description": "x",
                "reason": "y",
            },
        ),
        client.post(f"/statements/{theirs.id}/resend", data={"csrf_token": token}),
        client.get("/statements/no-such-statement"),
    ]
    assert [a.status_code for a in answers] == [404] * len(answers)
    for a in answers:
        assert "Not found" in a.text and theirs.id not in a.text
        assert theirs.customer_name not in a.text
    assert repo.get_statement(theirs.id).revision == 0
    # Asking the run page for the other organisation shows one's own instead.
    page = client.get("/admin/billing", params={"org": org_id + "-b", "period": str(PERIOD)})
    assert page.status_code == 200 and _rows(page.text) == []


def test_the_run_page_pages_through_the_period_without_duplicates_or_gaps(
    api: Any, repo: Any, make_user: Any, org_id: str
) -> None:
    from psa_billing.web.pages.runs import PAGE_SIZE

    made = seed(repo, org_id, [f"c{n:03d}" for n in range(2 * PAGE_SIZE + 20)])
    client = _admin(api, make_user, org_id)
    page = client.get("/admin/billing", params={"period": str(PERIOD)})
    seen: list[list[str]] = []
    first_next = None
    while True:
        assert page.status_code == 200
        seen.append(_rows(page.text))
        nxt = re.search(r'<a class="btn btn-small" href="([^"]+)" rel="next">', page.text)
        if nxt is None:
            break
        first_next = first_next or nxt.group(1).replace("&amp;", "&")
        page = client.get(nxt.group(1).replace("&amp;", "&"))
    assert [len(rows) for rows in seen] == [PAGE_SIZE, PAGE_SIZE, 20]
    ids = [i.replace("%3A", ":") for rows in seen for i in rows]
    assert sorted(ids) == sorted(s.id for s in made) and len(set(ids)) == len(made)
    # Someone else's cursor is refused, not followed.
    other = _admin(api, make_user, org_id)
    assert other.get(first_next).status_code == 400


def test_rows_show_money_in_the_organisations_locale_right_aligned(
    api: Any, repo: Any, make_user: Any, org_id: str
) -> None:
    from psa_billing.domain.org import new_org_settings, update_org_settings

    repo.put_org(
        update_org_settings(new_org_settings(org_id, "Org DE"), {"defaultLocale": "de-DE"})
    )
    (st,) = seed(repo, org_id, ["c1"])
    client = _admin(api, make_user, org_id)
    page = client.get("/admin/billing", params={"period": str(PERIOD)}).text
    from psa_billing.web.formatting import PageFormat

    total = PageFormat("de-DE").money(st.public()["total"], st.currency)
    assert f'<td data-label="Total" class="num"><strong>{total}</strong>' in page
    assert "," in total
    assert f"{len(st.current().lines)}</td>" in page


def test_filters_find_a_customer_and_the_review_queue(
    api: Any, repo: Any, make_user: Any, org_id: str
) -> None:
    doc = load_demo(repo, org_id, customers=3, seed=4, period=PERIOD)
    names = {c["id"]: c["name"] for c in doc["customers"]}
    made = seed(repo, org_id, sorted(names))
    write_statements([replace(st, customer_name=names[st.customer_id]) for st in made])
    client = _admin(api, make_user, org_id)
    wanted = "cust-0002"
    part = names[wanted][1:6].upper()  # part of the name, any case
    found = client.get("/admin/billing", params={"period": str(PERIOD), "q": part})
    assert wanted in [i.split("%3A")[1] for i in _rows(found.text)]
    assert (
        client.get(
            "/admin/billing", params={"period": str(PERIOD), "q": "no-such-customer"}
        ).text.count("<tr>")
        == 0
    )
    sent = client.get("/admin/billing", params={"period": str(PERIOD), "status": "send_failed"})
    assert _rows(sent.text) == []
    pending = client.get(
        "/admin/billing", params={"period": str(PERIOD), "status": "pending_review"}
    )
    assert len(_rows(pending.text)) == 3


def test_a_statement_page_shows_facts_lines_totals_and_every_revisions_pdf(
    api: Any, repo: Any, make_user: Any, org_id: str
) -> None:
    (st,) = seed(repo, org_id, ["c1"])
    client = _admin(api, make_user, org_id)
    page = client.get(f"/statements/{st.id}")
    assert page.status_code == 200
    text = page.text
    assert st.number in text and st.customer_name in text
    for line in st.lines:
        assert f'<td data-label="Line">{line.id}</td>' in text
    assert f'href="/statements/{st.id}/pdf?revision=0"' in text
    pdf = client.get(f"/statements/{st.id}/pdf")
    assert pdf.status_code == 302
    body = httpx.get(pdf.headers["location"], timeout=30)
    assert body.status_code == 200 and body.content.startswith(b"%PDF")


def _adjust(client: Any, sid: str, **fields: str) -> Any:
    page = client.get(f"/statements/{sid}")
    token = csrf_of(page.text)
    key = re.search(r'name="idem" value="([^"]+)"', page.text)
    assert key
    data = {"csrf_token": token, "idem": fields.pop("idem", key.group(1)), **fields}
    return client.post(f"/statements/{sid}/adjust", data=data)


def test_adjustments_are_validated_with_the_reason_beside_the_field(
    api: Any, repo: Any, make_user: Any, org_id: str
) -> None:
    (st,) = seed(repo, org_id, ["c1"])
    client = _admin(api, make_user, org_id)
    bad = _adjust(client, st.id, kind="credit", amount="-5", description="Goodwill", reason="")
    assert bad.status_code == 422
    assert re.search(r'id="credit-amount-error">Enter an amount such as 12\.50', bad.text)
    assert 'id="credit-reason-error">Say why' in bad.text
    assert 'value="Goodwill"' in bad.text  # what was typed stays
    edit = _adjust(client, st.id, kind="edit", line_id="L1", reason="nothing changes")
    assert edit.status_code == 422
    assert "an edit must change the description, quantity or unit price" in edit.text
    huge = _adjust(
        client, st.id, kind="credit", amount="999999999.00", description="x", reason="too much"
    )
    assert huge.status_code == 422 and "notice--error" in huge.text
    assert repo.get_statement(st.id).revision == 0


def test_an_adjustment_is_listed_with_who_when_and_why_and_counted_once(
    api: Any, repo: Any, make_user: Any, org_id: str
) -> None:
    (st,) = seed(repo, org_id, ["c1"])
    client = _admin(api, make_user, org_id)
    page = client.get(f"/statements/{st.id}")
    key = re.search(r'name="idem" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    form = {"kind": "credit", "amount": "10.00", "description": "Goodwill", "reason": "outage"}
    done = _adjust(client, st.id, idem=key, **form)
    assert done.status_code == 303, done.text
    again = _adjust(client, st.id, idem=key, **form)  # the same form submitted twice
    assert again.status_code == 303
    after = repo.get_statement(st.id)
    assert after.revision == 1
    shown = client.get(done.headers["location"]).text
    assert "The adjustment was added" in shown
    assert '<td data-label="Why">outage</td>' in shown
    assert "@example.test</td>" in shown  # who
    assert 'href="/statements/' + st.id + '/pdf?revision=1"' in shown
    assert "Original lines (revision 0" in shown


def test_re_send_and_sending_from_the_review_queue(
    api: Any, repo: Any, make_user: Any, org_id: str
) -> None:
    one, two = seed(repo, org_id, ["c1", "c2"])
    client = _admin(api, make_user, org_id)
    here = f"/admin/billing?period={PERIOD}"
    token = csrf_of(client.get(here).text)
    sent = client.post(f"/statements/{one.id}/send", data={"csrf_token": token, "back": here})
    assert sent.status_code == 303 and sent.headers["location"] == here + "&notice=sent"
    assert str(repo.get_statement(one.id).status) == "sent"
    confirm = client.get("/admin/billing/send-pending", params={"period": str(PERIOD)})
    assert "Send 1 now" in confirm.text and two.customer_name in confirm.text
    done = client.post(
        "/admin/billing/send-pending", data={"csrf_token": token, "period": str(PERIOD)}
    )
    assert done.status_code == 303 and "sent=1" in done.headers["location"]
    assert str(repo.get_statement(two.id).status) == "sent"
    page = client.get(f"/statements/{one.id}")
    assert ">Re-send</button>" in page.text
    again = client.post(f"/statements/{one.id}/resend", data={"csrf_token": csrf_of(page.text)})
    assert again.status_code == 303
    assert (
        repo.get_statement(one.id).send_attempts >= 2
        or "emailed again" in client.get(again.headers["location"]).text
    )


def test_run_now_starts_the_run_and_the_page_follows_it_to_the_end(
    api: Any, repo: Any, make_user: Any, org_id: str
) -> None:
    period = Period(2026, 9)
    load_demo(repo, org_id, customers=2, seed=5, period=period)
    client = _admin(api, make_user, org_id)
    token = csrf_of(client.get("/admin/billing").text)
    started = client.post("/admin/billing/run", data={"csrf_token": token, "period": str(period)})
    assert started.status_code == 303, started.text
    page = client.get(started.headers["location"])
    assert "The run has started" in page.text
    deadline = time.monotonic() + 120
    while 'http-equiv="refresh"' in page.text and time.monotonic() < deadline:
        time.sleep(1)
        page = client.get("/admin/billing", params={"period": str(period)})
    assert 'http-equiv="refresh"' not in page.text
    assert re.search(r'id="progress-done">2<', page.text)
    assert len(_rows(page.text)) == 2
    assert page.text.count('badge--billed">Billed') == 2
    refused = client.post("/admin/billing/run", data={"csrf_token": token, "period": "2099-01"})
    assert refused.status_code == 422 and "notice--error" in refused.text


def _void(client: Any, sid: str, reason: str) -> Any:
    page = client.get(f"/statements/{sid}")
    key = re.search(
        r'action="/statements/[^"]+/void".*?name="idem" value="([^"]+)"', page.text, re.S
    )
    assert key, "the statement page offers Void"
    data = {"csrf_token": csrf_of(page.text), "idem": key.group(1), "reason": reason}
    return client.post(f"/statements/{sid}/void", data=data)


def test_voiding_from_the_page_needs_a_reason_then_keeps_the_statement_with_nothing_due(
    api: Any, repo: Any, make_user: Any, org_id: str
) -> None:
    (st,) = seed(repo, org_id, ["c1"])
    client = _admin(api, make_user, org_id)

    refused = _void(client, st.id, "   ")
    assert refused.status_code == 422
    assert "Say why: the reason is kept with the void." in refused.text
    assert repo.get_statement(st.id).status is StatementStatus.PENDING_REVIEW

    done = _void(client, st.id, "billed to the wrong customer")
    assert done.status_code == 303, done.text
    after = repo.get_statement(st.id)
    assert after.status is StatementStatus.VOID and after.revision == st.revision + 1
    shown = client.get(done.headers["location"]).text
    assert "The statement was voided" in shown
    assert "billed to the wrong customer" in shown
    assert "A void statement takes no adjustment" in shown
    assert 'action="/statements/' + st.id + '/adjust"' not in shown

    assert 'action="/statements/' + st.id + '/void"' not in shown  # not offered again
    # A form posted anyway (an old tab): refused with the reason, nothing written.
    data = {"csrf_token": csrf_of(shown), "idem": "a" * 32, "reason": "again"}
    twice = client.post(f"/statements/{st.id}/void", data=data)
    assert twice.status_code == 409
    assert "void" in twice.text.lower()
    assert repo.get_statement(st.id).revision == after.revision


def test_the_review_queue_and_the_statement_page_tell_a_released_claim_from_an_unknown_send(
    api: Any, http: Any, repo: Any, make_user: Any, sign_in: Any, org_id: str
) -> None:
    """docs/reliability.md "A sender that stops": two senders stopped, one before handing
    its mail to SES (send_failed, nothing sent), one after (send_unknown). The run page's
    and the API's status filters find each under its own status; the page and the API
    say what is known of the unknown one."""
    from psa_billing.dal import keys
    from psa_billing.dal.models import StatementItem
    from tests.integration.api.conftest import bearer

    released, unknown = seed(repo, org_id, ["c1", "c2"])
    for st in (released, unknown):
        claimed = repo.claim_for_sending(st.id, 0)
        assert claimed is not None and claimed.claimed_at is not None
        if st is unknown:
            assert repo.hand_to_ses(st.id, 0, claimed.claimed_at)
        item = StatementItem.get(keys.statement_pk(st.id), keys.STATEMENT_SK)
        item.update(actions=[StatementItem.claim_expires_at.set("2000-01-01T00:00:00+00:00")])
    client = _admin(api, make_user, org_id)

    def queue(status: str) -> list[str]:
        page = client.get("/admin/billing", params={"period": str(PERIOD), "status": status})
        return [i.replace("%3A", ":") for i in _rows(page.text)]

    assert queue("send_failed") == [released.id]
    assert queue("send_unknown") == [unknown.id]

    page = client.get(f"/statements/{unknown.id}").text
    assert "Send unknown" in page and 'id="send-unknown"' in page
    assert "<dt>Handed to SES</dt><dd>not recorded" not in page
    released_page = client.get(f"/statements/{released.id}").text
    assert "nothing was sent" in released_page and "Handed to SES" not in released_page

    headers = bearer(sign_in(make_user({org_id: "ADMIN"})))
    listed = http.get(
        "/api/billing/statements",
        params={"orgId": org_id, "period": str(PERIOD), "status": "send_unknown"},
        headers=headers,
    )
    assert [s["id"] for s in listed.json()["items"]] == [unknown.id]
    detail = http.get(f"/api/billing/statements/{unknown.id}", headers=headers).json()
    claim = detail["delivery"]["claim"]
    assert claim["claimedAt"] and claim["handedToSesAt"]
    assert claim["expiresAt"].startswith("2000-01-01")
    other = http.get(f"/api/billing/statements/{released.id}", headers=headers).json()
    assert other["delivery"]["claim"] is None and other["status"] == "send_failed"
    refused = http.post(f"/api/billing/statements/{unknown.id}/send", headers=headers)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_sendable"
    assert "may or may not have arrived" in refused.json()["error"]["message"]


def _leave_claims(repo: Any, sts: list[Statement], handed: set[str]) -> None:
    """Senders that stopped: each claim expired, after the hand-over to SES for ``handed``."""
    from psa_billing.dal import keys
    from psa_billing.dal.models import StatementItem

    for st in sts:
        claimed = repo.claim_for_sending(st.id, 0)
        assert claimed is not None and claimed.claimed_at is not None
        if st.id in handed:
            assert repo.hand_to_ses(st.id, 0, claimed.claimed_at)
        item = StatementItem.get(keys.statement_pk(st.id), keys.STATEMENT_SK)
        item.update(actions=[StatementItem.claim_expires_at.set("2000-01-01T00:00:00+00:00")])


def test_a_person_marks_an_unknown_send_as_sent_through_the_api_and_nothing_else(
    api: Any, http: Any, repo: Any, make_user: Any, sign_in: Any, org_id: str
) -> None:
    """docs/reliability.md "A sender that stops": only a send_unknown can be marked sent;
    by a billing role of its organisation; the actor is the signed-in person."""
    from tests.integration.api.conftest import bearer

    released, unknown = seed(repo, org_id, ["c1", "c2"])
    _leave_claims(repo, [released, unknown], handed={unknown.id})
    admin = make_user({org_id: "ADMIN"})
    headers = bearer(sign_in(admin))

    def mark(sid: str, h: dict[str, str]) -> Any:
        return http.post(f"/api/billing/statements/{sid}/mark-sent", headers=h)

    technician = bearer(sign_in(make_user({org_id: "TECHNICIAN"})))
    assert mark(unknown.id, technician).status_code == 403
    stranger = bearer(sign_in(make_user({"someone-else": "OWNER"})))
    assert mark(unknown.id, stranger).status_code == 404
    refused = mark(released.id, headers)  # nothing was sent: send it, don't mark it
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_sendable"
    assert repo.get_statement(released.id).status is StatementStatus.SEND_FAILED

    done = mark(unknown.id, headers)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "sent"
    after = repo.get_statement(unknown.id)
    assert after.status is StatementStatus.SENT and after.sent_revision == 0
    assert admin.email in (after.last_error or "")
    again = mark(unknown.id, headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_sendable"


def test_the_statement_page_offers_mark_as_sent_only_for_an_unknown_send(
    api: Any, repo: Any, make_user: Any, org_id: str
) -> None:
    (unknown, normal) = seed(repo, org_id, ["c1", "c2"])
    _leave_claims(repo, [unknown], handed={unknown.id})
    client = _admin(api, make_user, org_id)
    assert "/mark-sent" not in client.get(f"/statements/{normal.id}").text
    page = client.get(f"/statements/{unknown.id}").text
    assert f'action="/statements/{unknown.id}/resend"' in page  # sent again only on purpose
    key = re.search(
        r'action="/statements/[^"]+/mark-sent".*?name="idem" value="([^"]+)"', page, re.S
    )
    assert key, "the page offers Mark as sent"
    data = {"csrf_token": csrf_of(page), "idem": key.group(1)}
    done = client.post(f"/statements/{unknown.id}/mark-sent", data=data)
    assert done.status_code == 303, done.text
    shown = client.get(done.headers["location"]).text
    assert "Recorded as sent" in shown and "/mark-sent" not in shown
    assert repo.get_statement(unknown.id).status is StatementStatus.SENT
    twice = client.post(f"/statements/{unknown.id}/mark-sent", data={**data, "idem": "b" * 32})
    assert twice.status_code == 409 and "only a send whose outcome is unknown" in twice.text


def _form_key(page: str, action: str, *, anyway: bool = False) -> str:
    """The one-time key of the page's form posting to ``action`` (``anyway``: the one
    that sends a void notice anyway)."""
    for opened in page.split("<form")[1:]:
        form = opened.split("</form>", 1)[0]
        if f'/{action}"' not in form or anyway != ('name="anyway"' in form):
            continue
        found = re.search(r'name="idem" value="([^"]+)"', form)
        assert found
        return found.group(1)
    raise AssertionError(f"the page offers no {action} form (anyway={anyway})")


def test_the_statement_page_shows_where_the_void_notice_stands_and_lets_a_person_decide(
    api: Any, repo: Any, make_user: Any, org_id: str
) -> None:
    """docs/portal.md, the void notice: the page says whether it was sent, failed, is
    being sent, was released or is unknown (with when it was claimed and handed to SES);
    an unknown one is sent again only by "Send the void notice anyway", or marked sent."""
    from tests.support import leave_notice_claim, mails, sent_then_voided

    unknown, released, marked = seed(repo, org_id, ["c1", "c2", "c3"])
    for st in (unknown, released, marked):
        sent_then_voided(repo, st.id)
        leave_notice_claim(repo, st.id, handed=st is not released)
    client = _admin(api, make_user, org_id)

    page = client.get(f"/statements/{released.id}").text
    assert 'id="void-notice"' in page and "Released" in page and "nothing was sent" in page
    assert 'id="void-notice-due"' in page and 'name="anyway"' not in page

    page = client.get(f"/statements/{unknown.id}").text
    assert 'id="void-notice-unknown"' in page and "<dt>Handed to SES</dt>" in page
    plain = client.post(
        f"/statements/{unknown.id}/resend",
        data={"csrf_token": csrf_of(page), "idem": _form_key(page, "resend")},
    )
    assert plain.status_code == 409 and "may or may not have arrived" in plain.text
    before = len(mails())
    sent = client.post(
        f"/statements/{unknown.id}/resend",
        data={
            "csrf_token": csrf_of(page),
            "idem": _form_key(page, "resend", anyway=True),
            "anyway": "1",
        },
    )
    assert sent.status_code == 303, sent.text
    shown = client.get(sent.headers["location"]).text
    assert "The void notice was emailed." in shown and 'id="void-notice-unknown"' not in shown
    assert len(mails()) == before + 1

    page = client.get(f"/statements/{marked.id}").text
    done = client.post(
        f"/statements/{marked.id}/mark-sent",
        data={"csrf_token": csrf_of(page), "idem": _form_key(page, "mark-sent")},
    )
    assert done.status_code == 303, done.text
    shown = client.get(done.headers["location"]).text
    assert "the customer has the void notice" in shown and "marked sent by" in shown
    assert len(mails()) == before + 1
