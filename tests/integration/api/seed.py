"""Statements written straight through the repository (as the run writes them), so
tests can have hundreds without billing them through the state machine."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from psa_billing.dal.models import Item
from psa_billing.dal.serde import statement_item
from psa_billing.domain.model import Period
from psa_billing.domain.rules import compute_statement
from psa_billing.domain.run import CustomerOutcome, Outcome
from psa_billing.domain.statement import Statement, statement_id
from tests.support import load_demo

PERIOD = Period(2026, 10)


@lru_cache(maxsize=1)
def _template(repo: Any) -> Statement:
    load_demo(repo, "seed-template", customers=1, seed=41, period=PERIOD)
    data = repo.load_customer_period("seed-template", "cust-0001", PERIOD)
    draft = compute_statement(data, PERIOD)
    assert draft is not None
    return Statement.from_draft(
        draft, org_id="seed-template", run_id="seed", created_at=datetime.now(UTC)
    )


def seed(
    repo: Any, org_id: str, customers: list[str], periods: list[Period] | None = None
) -> list[Statement]:
    base = _template(repo)
    made = [
        replace(
            base,
            id=statement_id(org_id, cust, period),
            org_id=org_id,
            customer_id=cust,
            customer_name=f"Customer {cust}",
            period=period,
        )
        for period in periods or [PERIOD]
        for cust in customers
    ]
    if len(made) == 1:  # the run's own write path, outcome included
        outcome = CustomerOutcome("seed", org_id, made[0].customer_id, Outcome.BILLED, made[0].id)
        assert repo.create_statement(made[0], outcome)
    else:  # many: the same items, batch-written (the transaction is 0.4 s each on moto)
        write_statements(made)
    return made


def write_statements(statements: list[Statement]) -> None:
    with Item.batch_write() as batch:
        for st in statements:
            batch.save(statement_item(st))
