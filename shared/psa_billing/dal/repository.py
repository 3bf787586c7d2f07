"""DynamoDB adapter (pynamodb): the only door to the data table.

Every read is by key: GetItem or Query on the table or a GSI, never a Scan.
docs/data-model.md lists the access patterns and the requests each costs.
"""

from __future__ import annotations

import heapq
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from psa_billing.dal import keys
from psa_billing.dal.errors import is_transient
from psa_billing.dal.failures import AdjustmentAlreadyMadeError, ConcurrentChangeError
from psa_billing.dal.models import (
    AdjustmentItem,
    AdjustmentRequestItem,
    ContractItem,
    CounterItem,
    CustomerItem,
    DeliveryEventItem,
    DeviceItem,
    Item,
    LastStatementsItem,
    NumberItem,
    OrgItem,
    OrgRunItem,
    OutcomeItem,
    ProjectItem,
    RunItem,
    StatementItem,
    TicketItem,
    TimeEntryItem,
    bind,
)
from psa_billing.dal.records import OrgRun
from psa_billing.dal.serde import (
    ENTRY_ATTRIBUTES,
    adjustment_from,
    adjustment_item,
    adjustment_request_item,
    contract_from,
    counter_item,
    customer_from,
    delivery_event_from,
    device_from,
    entry_from,
    import_items,
    last_statements_from,
    last_statements_item,
    message_item,
    number_item,
    org_from,
    org_item,
    org_run_item,
    outcome_from,
    outcome_item,
    project_from,
    run_from,
    run_handle,
    run_item,
    statement_from,
    statement_handle,
    statement_item,
    statement_slot,
    ticket_from,
)
from psa_billing.domain.adjustments import Adjustment
from psa_billing.domain.delivery import DeliveryEvent
from psa_billing.domain.model import (
    Contract,
    Customer,
    CustomerPeriodData,
    Device,
    Period,
    Project,
    Ticket,
    TimeEntry,
)
from psa_billing.domain.org import OrgSettings
from psa_billing.domain.review import StatementHistory
from psa_billing.domain.run import CustomerOutcome, Run, RunStatus
from psa_billing.domain.statement import (
    CLAIM_SECONDS,
    Numbering,
    Statement,
    StatementStatus,
    statement_id,
)
from psa_billing.logic.transient import TransientError

if TYPE_CHECKING:  # the import's code is loaded by imports only (API cold start)
    from psa_billing.dal.existing import DynamoExisting
    from psa_billing.ingest.validate import ValidatedImport

# Attempts at recording that SES accepted a mail (see mark_sent).
MARK_SENT_ATTEMPTS = 7

# Lost races on an organisation's number counter before the bill step gives up (and
# the state machine retries it with backoff).
NUMBER_ATTEMPTS = 25

# Items an import writes between two renewals of its lease and records of its progress.
PROGRESS_EVERY = 500


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# Statuses in which a statement takes an adjustment or a void: not while it is being
# emailed (a send whose outcome is unknown is stored as "sending" too), never once void;
# a released claim (``_released_claim``) takes them too.
_ADJUSTABLE = tuple(
    str(s) for s in StatementStatus if s not in (StatementStatus.SENDING, StatementStatus.VOID)
)


def _released_claim(now: datetime) -> Condition:
    """A claim past its expiry whose sender never recorded handing the mail to SES
    (docs/reliability.md "A sender that stops"): nothing was sent, it reads send_failed
    (serde.delivery_status), and it may be claimed, adjusted or voided like one. Claims
    taken before hand-overs were recorded have no ``claimed_at``: never released."""
    released: Condition = (
        (StatementItem.status == str(StatementStatus.SENDING))
        & (StatementItem.claim_expires_at <= now.isoformat())
        & StatementItem.claimed_at.exists()
        & StatementItem.handed_to_ses_at.does_not_exist()
    )
    return released


def _is_condition_failure(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    if cause == "ConditionalCheckFailedException":
        return True
    if isinstance(exc, TransactWriteError):
        return any(
            r is not None and r.code == "ConditionalCheckFailed" for r in exc.cancellation_reasons
        )
    return False


class DynamoRepository:
    def __init__(self, table_name: str, region: str) -> None:
        bind(table_name, region)
        self._region = region
        self._numbering_lock = threading.Lock()
        self._counters: dict[str, int] = {}  # org -> its counter as this process left it

    @staticmethod
    def _tx_connection() -> Connection:
        """The models' own Connection (one botocore client per warm function) for the
        transactions too: building a new one per TransactWrite cost ~70 ms of CPU."""
        connection: Connection = Item._get_connection().connection
        return connection

    # -- organisations and customers ------------------------------------------------

    def get_org(self, org_id: str) -> OrgSettings | None:
        try:
            return org_from(OrgItem.get(keys.ORGS_PK, keys.org_sk(org_id)))
        except DoesNotExist:
            return None

    def put_org(self, org: OrgSettings) -> None:
        org_item(org, _now()).save()

    def list_org_ids(self) -> list[str]:
        return [
            i.org_id for i in OrgItem.query(keys.ORGS_PK, OrgItem.sk.startswith(keys.ORG_PREFIX))
        ]

    def iter_customer_ids(self, org_id: str) -> Iterator[str]:
        for item in CustomerItem.query(
            keys.org_pk(org_id),
            CustomerItem.sk.startswith(keys.CUSTOMER_PREFIX),
            attributes_to_get=["customer_id", "kind"],
        ):
            yield item.customer_id

    def load_customer_period(
        self, org_id: str, customer_id: str, period: Period
    ) -> CustomerPeriodData | None:
        """Two Queries on GSI1, whatever the table size: the customer with its devices,
        tickets, projects and contracts; then the time entries dated in the period."""
        view = keys.customer_view_pk(org_id, customer_id)
        customer: Customer | None = None
        devices: list[Device] = []
        tickets: list[Ticket] = []
        projects: list[Project] = []
        contracts: list[Contract] = []
        last: StatementHistory | None = None
        for item in Item.customer_view.query(
            view, Item.gsi1sk.between(keys.REF_FIRST, keys.REF_LAST)
        ):
            if isinstance(item, CustomerItem):
                customer = customer_from(item)
            elif isinstance(item, DeviceItem):
                devices.append(device_from(item))
            elif isinstance(item, TicketItem):
                tickets.append(ticket_from(item))
            elif isinstance(item, ProjectItem):
                projects.append(project_from(item))
            elif isinstance(item, ContractItem):
                contracts.append(contract_from(item))
            elif isinstance(item, LastStatementsItem):
                last = last_statements_from(item)
        if customer is None:
            return None
        low, high = keys.entries_between(period.first_day, period.last_day)
        entries: list[TimeEntry] = [
            entry_from(item)
            for item in TimeEntryItem.customer_view.query(
                view, Item.gsi1sk.between(low, high), attributes_to_get=list(ENTRY_ATTRIBUTES)
            )
            if isinstance(item, TimeEntryItem)
        ]
        return CustomerPeriodData(
            customer=customer,
            devices=tuple(devices),
            tickets=tuple(tickets),
            projects=tuple(projects),
            contracts=tuple(contracts),
            entries=tuple(entries),
            last_statements=last,
        )

    # -- statements -------------------------------------------------------------------

    def create_statement(
        self,
        st: Statement,
        outcome: CustomerOutcome,
        numbering: Numbering | None = None,
        history: StatementHistory | None = None,
    ) -> Statement | None:
        """Create the statement, only if none exists for (org, customer, period), with the
        next number of its organisation's sequence and the run's record of it: one
        TransactWriteItems that also advances the counter, only from the value read, and
        takes the number. No number is skipped or used twice whatever runs at the same
        time: a transaction that lost the counter to another statement reads it again.
        None when the customer is already billed. AWS requests: GetItem (the counter) +
        TransactWriteItems, once more per lost race.

        ``history``: the customer's latest statements with this one (review evidence),
        written in the same transaction only if nobody rewrote it since it was read."""
        numbering = numbering or Numbering()
        # One allocation at a time in this process (a warm function's threads, or the
        # local stack's): they would only take each other's numbers and retry.
        with self._numbering_lock:
            return self._create_numbered(st, outcome, numbering, history)

    def _create_numbered(
        self,
        st: Statement,
        outcome: CustomerOutcome,
        numbering: Numbering,
        history: StatementHistory | None,
    ) -> Statement | None:
        pk = keys.org_pk(st.org_id)
        version = st.version
        for attempt in range(NUMBER_ATTEMPTS):
            # The counter as this process last left it, if it did: no read needed unless
            # another process has moved it since (then the condition fails, and it is read).
            current: int | None = self._counters.get(st.org_id) if attempt == 0 else None
            if current is None:
                try:
                    counter = CounterItem.get(pk, keys.NUMBER_COUNTER_SK, consistent_read=True)
                    current = int(counter.next)
                except DoesNotExist:
                    current = None
            n = current if current is not None else numbering.first
            sid = statement_id(st.org_id, st.customer_id, st.period, version)
            numbered = replace(st, id=sid, version=version, allocated_number=numbering.format(n))
            summaries = history
            latest = history.latest if history is not None else None
            if history is not None and latest is not None and latest.statement_id == st.id:
                # The summary of this statement: it gets the id and number allocated here.
                summaries = replace(
                    history, latest=replace(latest, statement_id=sid, number=numbered.number)
                )
            seq = counter_item(st.org_id, n + 1)
            taken = number_item(st.org_id, numbered.number, sid)
            try:
                with TransactWrite(connection=self._tx_connection()) as tx:
                    tx.save(statement_item(numbered), condition=StatementItem.pk.does_not_exist())
                    if version > 1:
                        # docs/data-model.md "Billed once": version n + 1 only while the
                        # slot says version n is the newest and is void.
                        tx.update(
                            self._slot_item(st),
                            actions=[
                                StatementItem.latest_version.set(version),
                                StatementItem.latest_void.set(False),
                            ],
                            condition=(StatementItem.latest_version == version - 1)
                            & (StatementItem.latest_void == True),  # noqa: E712
                        )
                    tx.save(
                        seq,
                        condition=CounterItem.pk.does_not_exist()
                        if current is None
                        else CounterItem.next == current,
                    )
                    tx.save(taken, condition=NumberItem.pk.does_not_exist())
                    tx.save(outcome_item(replace(outcome, statement_id=sid), _now()))
                    if summaries is not None:
                        read = summaries.version - 1
                        tx.save(
                            last_statements_item(st.org_id, st.customer_id, summaries),
                            condition=LastStatementsItem.pk.does_not_exist()
                            if read == 0
                            else LastStatementsItem.version == read,
                        )
            except TransactWriteError as exc:
                self._counters.pop(st.org_id, None)
                reasons = [r.code if r is not None else None for r in exc.cancellation_reasons]
                slot_failed = (
                    version > 1 and len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed"
                )
                if reasons and (reasons[0] == "ConditionalCheckFailed" or slot_failed):
                    # Billed already (another run, or this one earlier), unless the
                    # period's newest statement is void: then its successor is billed.
                    slot = self._slot(st.org_id, st.customer_id, str(st.period))
                    if slot is None or not slot[1]:
                        return None
                    version = slot[0] + 1
                    continue
                summaries_at = 5 if version > 1 else 4
                if reasons[summaries_at : summaries_at + 1] == ["ConditionalCheckFailed"]:
                    # Another period of this customer was billed since its summaries were
                    # read: the bill step is retried and compares again.
                    raise TransientError(
                        f"statement {st.id}: the customer's latest statements changed "
                        "meanwhile; billing it again"
                    ) from exc
                if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                    # Another process took this number first: read the counter again.
                    if attempt:
                        time.sleep(random.uniform(0, 0.05 * attempt))
                    continue
                raise
            self._counters[st.org_id] = n + 1
            return numbered
        raise TransientError(
            f"statement {st.id}: the number sequence of {st.org_id!r} stayed contended "
            f"for {NUMBER_ATTEMPTS} attempts"
        )

    @staticmethod
    def _slot_item(st: Statement) -> StatementItem:
        """The period's version-1 statement item, which holds its slot."""
        return statement_handle(statement_id(st.org_id, st.customer_id, st.period))

    def _slot(self, org_id: str, customer_id: str, period: str) -> tuple[int, bool] | None:
        """(newest version, whether it is void) of a (customer, period), or None when it
        has no statement. One consistent GetItem of the version-1 item's slot."""
        try:
            item = StatementItem.get(
                keys.statement_pk(statement_id(org_id, customer_id, period)),
                keys.STATEMENT_SK,
                consistent_read=True,
                attributes_to_get=["kind", "status", "latest_version", "latest_void"],
            )
        except DoesNotExist:
            return None
        return statement_slot(item)

    def current_statement_id(self, org_id: str, customer_id: str, period: str) -> str | None:
        """The id of the (customer, period)'s statement that is not void, or None (never
        billed, or its newest statement is void: the next run bills it)."""
        slot = self._slot(org_id, customer_id, period)
        if slot is None or slot[1]:
            return None
        return statement_id(org_id, customer_id, period, slot[0])

    def find_by_number(self, org_id: str, number: str) -> str | None:
        """The id of the organisation's statement with this number (one GetItem)."""
        try:
            return str(NumberItem.get(keys.org_pk(org_id), keys.number_sk(number)).statement_id)
        except DoesNotExist:
            return None

    def record_outcome(self, outcome: CustomerOutcome) -> None:
        outcome_item(outcome, _now()).save()

    def get_statement(self, statement_id: str, *, with_inputs: bool = False) -> Statement | None:
        """One Query: the statement item and, after it, its adjustments in order."""
        statement: StatementItem | None = None
        adjustments: list[Adjustment] = []
        deliveries: list[DeliveryEvent] = []
        for item in Item.query(keys.statement_pk(statement_id), consistent_read=True):
            if isinstance(item, StatementItem):
                statement = item
            elif isinstance(item, AdjustmentItem):
                adjustments.append(adjustment_from(item))
            elif isinstance(item, DeliveryEventItem):
                deliveries.append(delivery_event_from(item))
        if statement is None:
            return None
        return statement_from(
            statement,
            with_inputs=with_inputs,
            adjustments=tuple(adjustments),
            delivery_events=tuple(deliveries),
        )

    def append_adjustment(
        self, st: Statement, adj: Adjustment, *, request_key: str | None = None
    ) -> None:
        """One TransactWriteItems: the adjustment, appended, and the statement's revision
        raised from the one the adjustment was validated against. A concurrent
        adjustment, or one while the statement is being emailed or after it was voided,
        is refused (so concurrent late-time adjustments bill their entries once).

        ``request_key`` (who asked and their Idempotency-Key): the same transaction
        writes that the request made this adjustment, only if it made none before, so a
        request run twice (its idempotency record lost, or left in progress by a stopped
        function) appends once: AdjustmentAlreadyMadeError the second time."""
        item = adjustment_item(st, adj)
        target = statement_handle(st.id)
        marker = adjustment_request_item(st, adj, request_key) if request_key else None
        try:
            with TransactWrite(connection=self._tx_connection()) as tx:
                if marker is not None:
                    tx.save(marker, condition=AdjustmentRequestItem.pk.does_not_exist())
                tx.save(item, condition=AdjustmentItem.pk.does_not_exist())
                tx.update(
                    target,
                    actions=[
                        StatementItem.revision.set(adj.number),
                        StatementItem.status.set(str(StatementStatus.PENDING_REVIEW)),
                    ],
                    condition=(StatementItem.revision == adj.number - 1)
                    & (
                        StatementItem.status.is_in(*_ADJUSTABLE)
                        | _released_claim(datetime.now(UTC))
                    ),
                )
        except TransactWriteError as exc:
            if _is_condition_failure(exc):
                if marker is not None:
                    try:
                        made = AdjustmentRequestItem.get(marker.pk, marker.sk, consistent_read=True)
                    except DoesNotExist:
                        pass
                    else:
                        raise AdjustmentAlreadyMadeError(st.id, int(made.number)) from exc
                raise ConcurrentChangeError(
                    f"statement {st.id} changed meanwhile (adjusted, being sent or voided); "
                    "show it again and retry"
                ) from exc
            raise

    def void_statement(self, st: Statement, adj: Adjustment) -> None:
        """docs/billing-rules.md "Void", in one TransactWriteItems (nothing half-written):
        the void adjustment appended (who, when, why), the statement marked void at the
        next revision, only from the revision it was validated against and never while
        it is being emailed or once void; and its period's slot marked "newest is void",
        which releases its entries and devices to the next run."""
        target = statement_handle(st.id)
        actions: list[Action] = [
            StatementItem.revision.set(adj.number),
            StatementItem.status.set(str(StatementStatus.VOID)),
        ]
        if st.version == 1:  # the statement holds its period's slot itself
            actions += [StatementItem.latest_version.set(1), StatementItem.latest_void.set(True)]
        try:
            with TransactWrite(connection=self._tx_connection()) as tx:
                tx.save(adjustment_item(st, adj), condition=AdjustmentItem.pk.does_not_exist())
                tx.update(
                    target,
                    actions=actions,
                    condition=(StatementItem.revision == adj.number - 1)
                    & (
                        StatementItem.status.is_in(*_ADJUSTABLE)
                        | _released_claim(datetime.now(UTC))
                    ),
                )
                if st.version > 1:
                    tx.update(
                        self._slot_item(st),
                        actions=[StatementItem.latest_void.set(True)],
                        condition=StatementItem.latest_version == st.version,
                    )
        except TransactWriteError as exc:
            if _is_condition_failure(exc):
                raise ConcurrentChangeError(
                    f"statement {st.id} changed meanwhile (adjusted, being sent or voided); "
                    "show it again"
                ) from exc
            raise

    # -- the void notice (at most once) -------------------------------------------------

    def claim_void_notice(self, statement_id: str, *, anyway: bool = False) -> datetime | None:
        """Only one sender emails a void statement's notice, once (docs/data-model.md
        "Send claims", the void notice). Returns the claim's token (``claimed_at``, for
        the hand-over and the outcome), or None when it may not be claimed: sent, held
        by a sender, or its outcome unknown. A claim past CLAIM_SECONDS whose sender never
        recorded the hand-over is released and may be taken again; one whose sender did
        only with ``anyway`` (a person who checked with the customer sends it anyway)."""
        item = statement_handle(statement_id)
        now = datetime.now(UTC)
        stale = (now - timedelta(seconds=CLAIM_SECONDS)).isoformat()
        expired = StatementItem.void_notice_claimed_at <= stale
        if not anyway:
            expired = expired & StatementItem.void_notice_handed_at.does_not_exist()
        try:
            item.update(
                actions=[
                    StatementItem.void_notice_claimed_at.set(now.isoformat()),
                    StatementItem.void_notice_handed_at.remove(),
                ],
                condition=(StatementItem.status == str(StatementStatus.VOID))
                & StatementItem.void_notice_sent_at.does_not_exist()
                & (StatementItem.void_notice_claimed_at.does_not_exist() | expired),
            )
        except UpdateError as exc:
            if _is_condition_failure(exc):
                return None
            raise
        return now

    @staticmethod
    def _this_notice_claim(claimed_at: datetime) -> Condition:
        this: Condition = (StatementItem.status == str(StatementStatus.VOID)) & (
            StatementItem.void_notice_claimed_at == claimed_at.isoformat()
        )
        return this

    def hand_void_notice_to_ses(self, statement_id: str, claimed_at: datetime) -> bool:
        """Record, just before calling SES, that the notice claimed at ``claimed_at`` is
        being handed to it (from here on a sender that stops leaves an unknown outcome).
        False when that claim expired or was taken over: the caller must not send."""
        now = datetime.now(UTC)
        stale = (now - timedelta(seconds=CLAIM_SECONDS)).isoformat()
        try:
            statement_handle(statement_id).update(
                actions=[StatementItem.void_notice_handed_at.set(now.isoformat())],
                condition=self._this_notice_claim(claimed_at)
                & StatementItem.void_notice_sent_at.does_not_exist()
                & (StatementItem.void_notice_claimed_at > stale),
            )
        except UpdateError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def mark_void_notice_sent(
        self, statement_id: str, message_id: str, claimed_at: datetime
    ) -> bool:
        """SES accepted the notice claimed at ``claimed_at``: recorded under that claim
        only (False, nothing written, when it was taken over). The claim stays as its
        token, so the retry of a throttled write after a lost answer finds its own."""
        item = statement_handle(statement_id)
        actions: list[Action] = [
            StatementItem.void_notice_sent_at.set(_now()),
            StatementItem.void_notice_message_id.set(message_id),
            StatementItem.void_notice_error.remove(),
        ]
        for attempt in range(MARK_SENT_ATTEMPTS):  # the mail is out: as mark_sent
            try:
                item.update(actions=actions, condition=self._this_notice_claim(claimed_at))
                return True
            except UpdateError as exc:
                if _is_condition_failure(exc):
                    return False
                if not is_transient(exc) or attempt == MARK_SENT_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * 2**attempt * random.uniform(0.5, 1.0))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def mark_void_notice_failed(self, statement_id: str, error: str, claimed_at: datetime) -> bool:
        """Kept with the error; the claim is given back so the notice can be sent again.
        Under the claim taken at ``claimed_at`` only (False when it was taken over)."""
        try:
            statement_handle(statement_id).update(
                actions=[
                    StatementItem.void_notice_error.set(error[:1000]),
                    StatementItem.void_notice_claimed_at.remove(),
                    StatementItem.void_notice_handed_at.remove(),
                ],
                condition=self._this_notice_claim(claimed_at)
                & StatementItem.void_notice_sent_at.does_not_exist(),
            )
        except UpdateError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def mark_void_notice_sent_by_person(self, statement_id: str, actor: str) -> None:
        """A person who checked that a void notice whose outcome was unknown did arrive
        (a released notice claim is not one: nothing was sent)."""
        now = datetime.now(UTC)
        stale = (now - timedelta(seconds=CLAIM_SECONDS)).isoformat()
        try:
            statement_handle(statement_id).update(
                actions=[
                    StatementItem.void_notice_sent_at.set(_now()),
                    StatementItem.void_notice_marked_by.set(actor),
                    StatementItem.void_notice_error.remove(),
                ],
                condition=(StatementItem.status == str(StatementStatus.VOID))
                & StatementItem.void_notice_sent_at.does_not_exist()
                & (StatementItem.void_notice_claimed_at <= stale)
                & StatementItem.void_notice_handed_at.exists(),
            )
        except UpdateError as exc:
            if _is_condition_failure(exc):
                raise ConcurrentChangeError(
                    f"the void notice of {statement_id} is not one whose outcome is "
                    "unknown; show it again"
                ) from exc
            raise

    def _org_statement_items(
        self, org_id: str, period: str | None, attributes: list[str] | None = None
    ) -> Iterator[Item]:
        """An organisation's statements (of one period) in (period, customer) order, each
        followed by its adjustments: one Query per shard, merged. ``attributes`` limits
        what is read (planning needs only the customer ids)."""
        streams = []
        for shard in range(keys.STATEMENT_SHARDS):
            pk = keys.org_statements_pk(org_id, shard)
            cond = Item.gsi2sk.startswith(f"{period}#") if period else None
            streams.append(
                (
                    (item.gsi2sk or "", n, item)
                    for n, item in enumerate(
                        Item.org_statements.query(pk, cond, attributes_to_get=attributes)
                    )
                )
            )
        for _, _, item in heapq.merge(*streams):
            yield item

    def list_statements(self, org_id: str, period: str | None = None) -> list[Statement]:
        found: list[tuple[StatementItem, list[Adjustment]]] = []
        for item in self._org_statement_items(org_id, period):
            if isinstance(item, StatementItem):
                found.append((item, []))
            elif isinstance(item, AdjustmentItem) and found:
                found[-1][1].append(adjustment_from(item))
        return [statement_from(i, adjustments=tuple(adj)) for i, adj in found]

    def billed_customers(self, org_id: str, period: str) -> dict[str, StatementStatus]:
        """Each customer whose period has a statement that is not void, with that
        statement's stored status (docs/billing-rules.md "Once billed, billed once"):
        read from each period's slot, the version-1 item, and for a re-bill from the
        version it names (a projection: keys, status and the slot only)."""
        only = [
            "kind",
            "customer_id",
            "gsi2sk",
            "status",
            "version",
            "latest_version",
            "latest_void",
        ]
        slots: dict[str, tuple[int, bool]] = {}
        statuses: dict[tuple[str, int], StatementStatus] = {}
        for i in self._org_statement_items(org_id, period, only):
            if not isinstance(i, StatementItem):
                continue
            version = int(i.version or 1)
            statuses[(i.customer_id, version)] = StatementStatus(i.status)
            if version == 1:
                slots[i.customer_id] = statement_slot(i)
        billed: dict[str, StatementStatus] = {}
        for customer_id, (latest, void) in slots.items():
            status = statuses.get((customer_id, latest))
            if not void and status is not None:
                billed[customer_id] = status
        return billed

    # -- delivery state -----------------------------------------------------------------

    def claim_for_sending(
        self, statement_id: str, revision: int, *, again: bool = False
    ) -> Statement | None:
        """Conditional update: only one sender gets a revision, and a revision already
        sent is not sent again by accident (``again`` is an explicit re-send, which may
        also take over a claim whose outcome is unknown). A released claim (expired, never
        handed to SES) is sendable like send_failed. The claim expires after
        CLAIM_SECONDS; ``claimed_at`` is its token for ``hand_to_ses``. Returns the
        claimed statement (without adjustments), or None."""
        item = statement_handle(statement_id)
        now = datetime.now(UTC)
        sendable = [
            str(StatementStatus.READY_TO_SEND),
            str(StatementStatus.PENDING_REVIEW),
            str(StatementStatus.SEND_FAILED),
        ]
        if again:
            sendable.append(str(StatementStatus.SENT))
        condition = StatementItem.status.is_in(*sendable) | _released_claim(now)
        if again:
            condition = condition | (
                (StatementItem.status == str(StatementStatus.SENDING))
                & (StatementItem.claim_expires_at <= now.isoformat())
            )
        try:
            item.update(
                actions=[
                    StatementItem.status.set(str(StatementStatus.SENDING)),
                    StatementItem.claimed_revision.set(revision),
                    StatementItem.claim_expires_at.set(
                        (now + timedelta(seconds=CLAIM_SECONDS)).isoformat()
                    ),
                    StatementItem.claimed_at.set(now.isoformat()),
                    StatementItem.handed_to_ses_at.remove(),
                    StatementItem.send_attempts.add(1),
                ],
                condition=(
                    StatementItem.pk.exists() & (StatementItem.revision == revision) & condition
                ),
            )
        except UpdateError as exc:
            if _is_condition_failure(exc):
                return None
            raise
        return statement_from(item)

    def hand_to_ses(self, statement_id: str, revision: int, claimed_at: datetime) -> bool:
        """Record, just before calling SES, that this claim's mail is being handed to it:
        from here on a sender that stops leaves an unknown outcome (send_unknown) rather
        than a released claim. Only the claim taken at ``claimed_at`` (the same revision,
        not expired, not taken over meanwhile) may; False when it may not, and the
        caller must not send."""
        now = datetime.now(UTC)
        try:
            statement_handle(statement_id).update(
                actions=[StatementItem.handed_to_ses_at.set(now.isoformat())],
                condition=(StatementItem.status == str(StatementStatus.SENDING))
                & (StatementItem.claimed_revision == revision)
                & (StatementItem.claimed_at == claimed_at.isoformat())
                & (StatementItem.claim_expires_at > now.isoformat()),
            )
        except UpdateError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def mark_sent_by_person(self, statement_id: str, revision: int, actor: str) -> None:
        """A person who checked that a mail whose outcome was unknown did arrive (a
        released claim is not one: nothing was sent)."""
        item = statement_handle(statement_id)
        try:
            item.update(
                actions=[
                    StatementItem.status.set(str(StatementStatus.SENT)),
                    StatementItem.sent_revision.set(revision),
                    StatementItem.sent_at.set(_now()),
                    StatementItem.last_error.set(f"marked sent by {actor}: outcome was unknown"),
                    StatementItem.claim_expires_at.remove(),
                ],
                condition=(StatementItem.revision == revision)
                & (StatementItem.status == str(StatementStatus.SENDING))
                & (StatementItem.claim_expires_at <= datetime.now(UTC).isoformat())
                & (
                    StatementItem.handed_to_ses_at.exists()
                    | StatementItem.claimed_at.does_not_exist()
                ),
            )
        except UpdateError as exc:
            if _is_condition_failure(exc):
                raise ConcurrentChangeError(
                    f"statement {statement_id} revision {revision} is not a send whose "
                    "outcome is unknown; show it again"
                ) from exc
            raise

    def hold_for_review(self, statement_id: str, revision: int, reason: str) -> None:
        """Keep a revision from being emailed until someone looks at it (and record why);
        refused silently when it is already being sent or was sent."""
        item = statement_handle(statement_id)
        try:
            item.update(
                actions=[
                    StatementItem.status.set(str(StatementStatus.PENDING_REVIEW)),
                    StatementItem.last_error.set(reason[:1000]),
                ],
                condition=(StatementItem.revision == revision)
                & StatementItem.status.is_in(
                    str(StatementStatus.READY_TO_SEND), str(StatementStatus.PENDING_REVIEW)
                ),
            )
        except UpdateError as exc:
            if not _is_condition_failure(exc):
                raise

    @staticmethod
    def _this_claim(revision: int, claimed_at: datetime) -> Condition:
        """The claim a sender took at ``claimed_at`` for ``revision`` (its token), still
        the statement's: not taken over by another sender since (a new claim has a new
        ``claimed_at``), the statement not adjusted or voided meanwhile."""
        this: Condition = (StatementItem.claimed_revision == revision) & (
            StatementItem.claimed_at == claimed_at.isoformat()
        )
        return this

    def mark_sent(
        self, statement_id: str, revision: int, message_id: str, claimed_at: datetime
    ) -> bool:
        """The send's outcome and, in the same TransactWriteItems (one request), the
        SES message id's item, by which SES's later events about this mail find the
        statement (dal/delivery.py). Only under the claim taken at ``claimed_at``, while
        it is the statement's (docs/data-model.md "Send claims"): False, writing
        nothing, when another sender took the claim over meanwhile (the newer claim
        records its own outcome). A claim that merely expired, not taken over, is still
        this sender's: its outcome is recorded (the mail did go out)."""
        item = statement_handle(statement_id)
        actions: list[Action] = [
            StatementItem.status.set(str(StatementStatus.SENT)),
            StatementItem.sent_revision.set(revision),
            StatementItem.sent_at.set(_now()),
            StatementItem.message_id.set(message_id),
            StatementItem.last_error.remove(),
            StatementItem.claim_expires_at.remove(),
            StatementItem.delivery.remove(),  # no event about this new mail yet
        ]
        # "sent" too: a retry after a lost answer finds its own write (same claim), and a
        # person who marked this claim's unknown outcome sent is given the message id.
        condition = self._this_claim(revision, claimed_at) & StatementItem.status.is_in(
            str(StatementStatus.SENDING), str(StatementStatus.SENT)
        )
        org_id = statement_id.split(":", 1)[0]

        def write() -> None:
            if not message_id:  # a mailer that returns none: nothing to look events up by
                item.update(actions=actions, condition=condition)
                return
            with TransactWrite(connection=self._tx_connection()) as tx:
                tx.update(item, actions=actions, condition=condition)
                tx.save(message_item(message_id, org_id, statement_id, revision))

        # The mail is out: a throttled mark is retried here (about 3 s in all) rather
        # than left to the state machine, whose retry finds the claim taken and leaves
        # the statement to read send_unknown. The write is idempotent (same condition,
        # same message item), so a retry after a lost answer changes nothing.
        for attempt in range(MARK_SENT_ATTEMPTS):
            try:
                write()
                return True
            except Exception as exc:
                if _is_condition_failure(exc):
                    return False
                if not is_transient(exc) or attempt == MARK_SENT_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * 2**attempt * random.uniform(0.5, 1.0))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def mark_send_failed(
        self, statement_id: str, revision: int, error: str, claimed_at: datetime
    ) -> bool:
        """The send under the claim taken at ``claimed_at`` failed (nothing was sent):
        kept with the error, the claim given back. False, writing nothing, when that
        claim is no longer the statement's (taken over, or the released claim adjusted
        or voided meanwhile)."""
        try:
            statement_handle(statement_id).update(
                actions=[
                    StatementItem.status.set(str(StatementStatus.SEND_FAILED)),
                    StatementItem.last_error.set(error[:1000]),
                    StatementItem.claim_expires_at.remove(),
                ],
                condition=self._this_claim(revision, claimed_at)
                & (StatementItem.status == str(StatementStatus.SENDING)),
            )
        except UpdateError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    # -- runs ---------------------------------------------------------------------------

    def start_run(self, run: Run) -> None:
        """Idempotent: a retried plan step finds its run already there."""
        item = run_item(run)
        try:
            item.save(condition=RunItem.pk.does_not_exist())
        except PutError as exc:
            if not _is_condition_failure(exc):
                raise

    def index_run(
        self, org_id: str, run_id: str, period: str, started_at: str, started_by: str, arn: str
    ) -> None:
        """The organisation's listing of the run (the API's runs page); a retried plan
        step finds it there already."""
        item = org_run_item(OrgRun(run_id, period, started_at, started_by, arn), org_id)
        try:
            item.save(condition=OrgRunItem.pk.does_not_exist())
        except PutError as exc:
            if not _is_condition_failure(exc):
                raise

    def get_run(self, run_id: str) -> Run | None:
        try:
            item = RunItem.get(keys.run_pk(run_id), keys.RUN_SK, consistent_read=True)
        except DoesNotExist:
            return None
        return run_from(item)

    def outcomes(self, run_id: str) -> Iterator[CustomerOutcome]:
        for item in OutcomeItem.query(
            keys.run_pk(run_id), OutcomeItem.sk.startswith(keys.OUTCOME_PREFIX)
        ):
            yield outcome_from(item)

    def finish_run(
        self, run_id: str, status: RunStatus, counts: dict[str, int], error: str | None
    ) -> None:
        item = run_handle(run_id)
        actions: list[Action] = [
            RunItem.status.set(str(status)),
            RunItem.finished_at.set(_now()),
            RunItem.counts.set(json.dumps(counts, sort_keys=True)),
        ]
        if error:
            actions.append(RunItem.error.set(error[:2000]))
        item.update(actions=actions)

    # -- import -------------------------------------------------------------------------

    def existing(self, org_id: str) -> DynamoExisting:
        from psa_billing.dal.existing import DynamoExisting  # noqa: PLC0415

        return DynamoExisting(org_id)

    def write_import(
        self, validated: ValidatedImport, now: str, progress: Callable[[int], None]
    ) -> int:
        """BatchWriteItem, 25 at a time (pynamodb retries unprocessed items); every
        PROGRESS_EVERY items ``progress`` is told how many are written."""
        n = 0
        with Item.batch_write() as batch:
            for item in import_items(validated, self.get_org(validated.org_id), now):
                batch.save(item)
                n += 1
                if n % PROGRESS_EVERY == 0:
                    batch.commit()
                    progress(n)
        return n
