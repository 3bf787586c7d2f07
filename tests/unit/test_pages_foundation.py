"""The pages' pure pieces: where sign-in may send you back to, CSRF tokens bound to the
session, navigation by role, money and dates in the organisation's locale."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from psa_billing.auth.roles import Principal, Role
from psa_billing.web.csrf import token_for
from psa_billing.web.formatting import PageFormat
from psa_billing.web.nav import nav_for, page_org
from psa_billing.web.session import safe_next, signin_url


def _person(**roles: Role) -> Principal:
    return Principal(kind="user", subject="s", actor="a@x.test", client_id="c", roles=dict(roles))


def test_sign_in_only_returns_to_a_path_on_this_site() -> None:
    assert safe_next("/statements/a:b:2026-10?x=1") == "/statements/a:b:2026-10?x=1"
    for bad in ("//evil.example/", "https://evil.example/", "/\\evil.example", "", None, "/a\nb"):
        assert safe_next(bad) == "/"
    assert (
        signin_url("/admin/billing?period=2026-10")
        == "/signin?next=/admin/billing%3Fperiod%3D2026-10"
    )


def test_a_csrf_token_is_bound_to_its_session_and_key() -> None:
    key, other_key = b"k" * 32, b"j" * 32
    assert token_for("session-one-aaaaaaaaaa", key) == token_for("session-one-aaaaaaaaaa", key)
    assert token_for("session-one-aaaaaaaaaa", key) != token_for("session-two-aaaaaaaaaa", key)
    assert token_for("session-one-aaaaaaaaaa", key) != token_for(
        "session-one-aaaaaaaaaa", other_key
    )


def test_navigation_shows_billing_pages_only_to_admins_and_owners() -> None:
    admin = _person(acme=Role.ADMIN)
    tech = _person(acme=Role.TECHNICIAN)
    labels = [link.label for link in nav_for(admin, "acme", "/admin/billing", {"projects": True})]
    assert labels == ["Monthly run", "Invoices & quotes", "InvoiceNinja"]
    assert nav_for(tech, "acme", "/", {"projects": True}) == []
    assert nav_for(None, None, "/signin") == []
    # The InvoiceNinja list needs the organisation's "projects" feature.
    assert "Invoices & quotes" not in [link.label for link in nav_for(admin, "acme", "/", {})]


def test_the_page_shows_an_organisation_the_person_belongs_to() -> None:
    both = _person(beta=Role.TECHNICIAN, acme=Role.OWNER)
    assert page_org(both, None) == "acme"  # the first with billing
    assert page_org(both, "beta") == "beta"
    assert page_org(both, "someone-elses") == "acme"


def test_money_and_dates_follow_the_organisations_locale() -> None:
    de = PageFormat("de-DE", "Europe/Berlin")
    assert de.money("1234.50", "EUR") == "1.234,50"
    assert de.money(Decimal("1200"), "JPY") == "1.200"
    assert PageFormat("en-GB").money("12.345", "BHD") == "12.345"
    assert PageFormat("en-GB").period("2026-10") == "October 2026"
    assert de.datetime("2026-11-01T08:30:00+00:00") == "01.11.2026, 09:30:00"


class _Runs:
    """A run store and run index with one run (what run_view and run_progress read)."""

    def __init__(self, run: Any, outcomes: list[Any]) -> None:
        self.run, self.outcomes, self.outcome_reads = run, outcomes, 0

    def get_run(self, run_id: str) -> Any:
        return self.run if run_id == self.run.run_id else None

    def outcomes_of(self, run_id: str, org_id: str) -> list[Any]:
        self.outcome_reads += 1
        return [o for o in self.outcomes if o.org_id == org_id]


def test_a_finished_runs_progress_comes_from_its_counts_and_matches_the_outcomes() -> None:
    from psa_billing.domain.run import CustomerOutcome, Outcome, Run, RunStatus
    from psa_billing.logic.billing_api import run_progress, run_view

    outcomes = [CustomerOutcome("r1", "acme", f"c{n}", Outcome.BILLED, f"s{n}") for n in range(3)]
    outcomes.append(CustomerOutcome("r1", "acme", "c9", Outcome.NOTHING_TO_BILL))
    counts = {"billed": 3, "nothing_to_bill": 1, "already_billed": 2, "failed": 0}
    run = Run("r1", "2026-10", ("acme",), RunStatus.SUCCEEDED, 6, "t0", "t1", counts)
    store = _Runs(run, outcomes)
    admin = _person(acme=Role.ADMIN)
    quick = run_progress(store, store, admin, "r1")  # type: ignore[arg-type]
    assert store.outcome_reads == 0
    full = run_view(store, store, admin, "r1")  # type: ignore[arg-type]
    full_done = {k: full["progress"][k] for k in ("failed", "total")}
    assert quick["progress"] == {"done": 6, **full_done} == {"done": 6, "failed": 0, "total": 6}
    assert full["progress"]["done"] == 4 + 2  # outcomes + already billed: the same figure
    # A run with failures, or still running, is read whole (its failures are listed).
    failing = Run(
        "r1",
        "2026-10",
        ("acme",),
        RunStatus.SUCCEEDED_WITH_FAILURES,
        6,
        "t0",
        "t1",
        {**counts, "failed": 1},
    )
    store = _Runs(failing, outcomes)
    run_progress(store, store, admin, "r1")  # type: ignore[arg-type]
    assert store.outcome_reads == 1
