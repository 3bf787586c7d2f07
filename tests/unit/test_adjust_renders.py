"""docs/billing-rules.md "Statement documents": every revision that exists has its PDF,
rendered when the revision is created. ``logic.statements.adjust`` (the CLI's) renders
it from the statement it holds, reading nothing again; a render that fails leaves the
adjustment recorded and says so."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from psa_billing.domain.adjustments import Adjustment
from psa_billing.domain.org import OrgSettings, new_org_settings
from psa_billing.domain.statement import Statement
from psa_billing.logic.delivery import statement_pdf_key
from psa_billing.logic.statements import Credit, LineEdit, NotRenderedError, adjust
from tests.unit.test_statement_details import billed


class Repo:
    """The statement store as `adjust` sees it, counting what it is asked."""

    def __init__(self, st: Statement) -> None:
        self.st = st
        self.reads = 0
        self.appended: list[Adjustment] = []
        self.held: list[tuple[int, str]] = []

    def get_statement(self, statement_id: str, **_: object) -> Statement | None:
        self.reads += 1
        return self.st

    def append_adjustment(self, st: Statement, adj: Adjustment) -> None:
        self.appended.append(adj)

    def hold_for_review(self, statement_id: str, revision: int, reason: str) -> None:
        self.held.append((revision, reason))


class Store:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.put: dict[str, bytes] = {}

    def put_new(self, key: str, body: bytes, content_type: str) -> bool:
        if self.fail:
            raise ConnectionError("S3 unreachable")
        self.put.setdefault(key, body)
        return True

    def get(self, key: str) -> bytes:
        return self.put[key]


class Orgs:
    def get(self, org_id: str) -> OrgSettings:
        return new_org_settings(org_id, "Kestrel IT")


def _now() -> datetime:
    return datetime(2026, 11, 3, 10, tzinfo=UTC)


def test_adjusting_renders_the_new_revisions_pdf_from_the_statement_it_holds() -> None:
    repo, store = Repo(billed()), Store()
    st = adjust(
        repo,  # type: ignore[arg-type]  # only what adjust uses
        "kw:c1:2026-10",
        Credit("10.00", "Goodwill"),
        actor="ann",
        reason="outage",
        clock=_now,
        store=store,
        orgs=Orgs(),
    )
    assert st.revision == 1 and len(repo.appended) == 1
    assert repo.reads == 1  # the statement once; the render used what adjust held
    assert list(store.put) == [statement_pdf_key(st)]
    assert store.put[statement_pdf_key(st)].startswith(b"%PDF")
    assert repo.held == []


def test_a_revision_the_pdf_cannot_show_is_held_for_review_with_the_reason() -> None:
    repo, store = Repo(billed()), Store()
    st = adjust(
        repo,  # type: ignore[arg-type]  # only what adjust uses
        "kw:c1:2026-10",
        LineEdit("L1", description="Geräte שלום"),
        actor="ann",
        reason="name",
        clock=_now,
        store=store,
        orgs=Orgs(),
    )
    assert [rev for rev, _ in repo.held] == [1]
    assert st.last_error is not None and "U+05E9" in st.last_error


def test_a_failed_render_says_the_adjustment_was_recorded() -> None:
    repo = Repo(billed())
    with pytest.raises(NotRenderedError) as caught:
        adjust(
            repo,  # type: ignore[arg-type]  # only what adjust uses
            "kw:c1:2026-10",
            Credit("10.00", "Goodwill"),
            actor="ann",
            reason="outage",
            clock=_now,
            store=Store(fail=True),
            orgs=Orgs(),
        )
    assert len(repo.appended) == 1
    assert "revision 1 was recorded, but its PDF was not rendered" in str(caught.value)
