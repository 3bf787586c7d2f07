"""What the use cases need from the outside world, as Protocols (docs/architecture.md 4).

The use cases import these and the domain only: production passes the AWS adapters
(``psa_billing.dal``), tests pass in-memory fakes. Nothing here imports boto3 or
pynamodb (tests/unit/test_cold_start.py checks it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Protocol

from psa_billing.domain.adjustments import Adjustment
from psa_billing.domain.model import CustomerPeriodData, Period
from psa_billing.domain.org import OrgSettings
from psa_billing.domain.review import StatementHistory
from psa_billing.domain.run import CustomerOutcome, Run, RunStatus
from psa_billing.domain.statement import Numbering, Statement, StatementStatus

Clock = Callable[[], datetime]


class OrgDirectory(Protocol):
    """An organisation's details (cached by a warm function: see logic/orgs.py)."""

    def get(self, org_id: str) -> OrgSettings: ...


class StatementReader(Protocol):
    def get_statement(
        self, statement_id: str, *, with_inputs: bool = False
    ) -> Statement | None: ...


class RunRepository(StatementReader, Protocol):
    def list_org_ids(self) -> list[str]: ...
    def get_org(self, org_id: str) -> OrgSettings | None: ...
    def iter_customer_ids(self, org_id: str) -> Iterator[str]: ...
    def billed_customers(self, org_id: str, period: str) -> dict[str, StatementStatus]:
        """Each billed customer of the period: its statement's stored status."""
        ...

    def start_run(self, run: Run) -> None: ...
    def index_run(
        self, org_id: str, run_id: str, period: str, started_at: str, started_by: str, arn: str
    ) -> None:
        """List the run under the organisation (its runs page), once."""
        ...

    def get_run(self, run_id: str) -> Run | None: ...
    def load_customer_period(
        self, org_id: str, customer_id: str, period: Period
    ) -> CustomerPeriodData | None: ...
    def create_statement(
        self,
        st: Statement,
        outcome: CustomerOutcome,
        numbering: Numbering | None = None,
        history: StatementHistory | None = None,
    ) -> Statement | None:
        """The statement as stored (with its number), or None when already billed;
        ``history`` (the customer's latest statements with this one) is written with it."""
        ...

    def current_statement_id(self, org_id: str, customer_id: str, period: str) -> str | None:
        """The (customer, period)'s statement that is not void, if any."""
        ...

    def record_outcome(self, outcome: CustomerOutcome) -> None: ...
    def outcomes(self, run_id: str) -> Iterator[CustomerOutcome]: ...
    def finish_run(
        self, run_id: str, status: RunStatus, counts: dict[str, int], error: str | None
    ) -> None: ...


class RenderRepository(StatementReader, Protocol):
    def hold_for_review(self, statement_id: str, revision: int, reason: str) -> None: ...


class VoidNoticeRepository(StatementReader, Protocol):
    def claim_void_notice(self, statement_id: str, *, anyway: bool = False) -> datetime | None:
        """The claim's token, or None (sent, held, or its outcome unknown and not
        ``anyway``)."""
        ...

    def hand_void_notice_to_ses(self, statement_id: str, claimed_at: datetime) -> bool: ...
    def mark_void_notice_sent(
        self, statement_id: str, message_id: str, claimed_at: datetime
    ) -> bool: ...
    def mark_void_notice_failed(
        self, statement_id: str, error: str, claimed_at: datetime
    ) -> bool: ...


class SendRepository(VoidNoticeRepository, Protocol):
    def claim_for_sending(
        self, statement_id: str, revision: int, *, again: bool = False
    ) -> Statement | None: ...
    def hand_to_ses(self, statement_id: str, revision: int, claimed_at: datetime) -> bool: ...
    def mark_sent(
        self, statement_id: str, revision: int, message_id: str, claimed_at: datetime
    ) -> bool:
        """Under the claim taken at ``claimed_at`` only; False when it was taken over."""
        ...

    def mark_send_failed(
        self, statement_id: str, revision: int, error: str, claimed_at: datetime
    ) -> bool:
        """Under the claim taken at ``claimed_at`` only; False when it is no longer the
        statement's."""
        ...


class StatementRepository(SendRepository, RenderRepository, Protocol):
    def mark_sent_by_person(self, statement_id: str, revision: int, actor: str) -> None: ...
    def mark_void_notice_sent_by_person(self, statement_id: str, actor: str) -> None: ...

    def append_adjustment(
        self, st: Statement, adj: Adjustment, *, request_key: str | None = None
    ) -> None: ...
    def void_statement(self, st: Statement, adj: Adjustment) -> None: ...
    def load_customer_period(
        self, org_id: str, customer_id: str, period: Period
    ) -> CustomerPeriodData | None: ...
    def list_statements(self, org_id: str, period: str | None = None) -> list[Statement]: ...


class ManifestStore(Protocol):
    bucket: str

    def put_json(self, key: str, doc: Any) -> None: ...


class PdfStore(Protocol):
    def put_new(self, key: str, body: bytes, content_type: str) -> bool: ...
    def get(self, key: str) -> bytes: ...


class Mailer(Protocol):
    def send_raw(self, raw: bytes, *, sender: str, to: str) -> str:
        """Send a finished MIME message; return the provider's message id."""
        ...
