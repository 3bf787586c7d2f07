"""The one mapping between stored items and domain objects (money and dates as strings).

Nothing else builds pynamodb items, not even a key-only handle for an update: every
adapter in dal/ calls these (tests/unit/test_item_mapping.py checks it). The engine's
items come first; then, each in its own section, the key handles, numbering and an
organisation's runs, leases, the API's own data and the InvoiceNinja sync's state.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from psa_billing.dal import keys
from psa_billing.dal.bodies import INLINE_LIMIT, StatementBodies, body_key, default_bodies
from psa_billing.dal.models import (
    ActiveRunItem,
    AdjustmentItem,
    AdjustmentRequestItem,
    ContractItem,
    CounterItem,
    CustomerItem,
    DeliveryEventItem,
    DeviceItem,
    ImportStateItem,
    InvoiceNinjaClientItem,
    InvoiceNinjaLockItem,
    InvoiceNinjaPushItem,
    Item,
    LastStatementsItem,
    LeaseItem,
    LoginFailureItem,
    MachineClientItem,
    MembershipItem,
    MessageItem,
    NumberItem,
    OrgFeaturesItem,
    OrgItem,
    OrgRunItem,
    OutcomeItem,
    ProjectItem,
    RunItem,
    ScheduledRunItem,
    SettingsChangeItem,
    StatementItem,
    TicketItem,
    TimeEntryItem,
    UserItem,
)
from psa_billing.dal.records import (
    NO_ORG,
    ActiveRun,
    MachineClient,
    Member,
    OrgRun,
    SettingsChange,
)
from psa_billing.domain.adjustments import Adjustment, AdjustmentKind
from psa_billing.domain.delivery import DeliveryEvent
from psa_billing.domain.model import (
    BillingSettings,
    Contract,
    Coverage,
    CoveredTicket,
    Customer,
    CustomerProfile,
    Device,
    EntryUse,
    Line,
    LineKind,
    Period,
    Project,
    StatementInputs,
    Ticket,
    TimeEntry,
)
from psa_billing.domain.org import (
    OrgSettings,
    new_org_settings,
    parse_org_settings,
    update_org_settings,
)
from psa_billing.domain.review import Evidence, StatementHistory, StatementSummary
from psa_billing.domain.run import CustomerOutcome, Outcome, Run, RunStatus
from psa_billing.domain.statement import (
    NOTICE_STOPPED_BEFORE_SES,
    STOPPED_BEFORE_SES,
    Statement,
    StatementStatus,
    VoidNoticeState,
    void_notice_state,
)
from psa_billing.invoiceninja.ports import ClientMapping, PushRecord, Source, SourceKind
from psa_billing.invoiceninja.wire import DocumentKind
from psa_billing.logic.leases import ImportState

if TYPE_CHECKING:  # the import's models are not needed to read items (API cold start)
    from psa_billing.ingest.validate import ValidatedImport


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def dec(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def profile_to_json(profile: CustomerProfile) -> str | None:
    """A customer's optional statement details in their camelCase names (the import's),
    keys sorted so that equal details are equal text; None when nothing is set."""
    doc = profile.public()
    return json.dumps(doc, ensure_ascii=False, sort_keys=True) if doc else None


def profile_from_json(text: str | None) -> CustomerProfile:
    if not text:
        return CustomerProfile()
    doc = json.loads(text)
    return CustomerProfile(
        address_lines=tuple(doc.get("addressLines", ())),
        tax_id=doc.get("taxId"),
        locale=doc.get("locale"),
        payment_terms_days=doc.get("paymentTermsDays"),
    )


def customer_from(item: CustomerItem) -> Customer:
    return Customer(
        id=item.customer_id,
        name=item.name,
        billing=BillingSettings(
            per_device_rate=Decimal(item.per_device_rate),
            default_hourly_rate=Decimal(item.default_hourly_rate),
            tax_percent=Decimal(item.tax_percent),
            currency=item.currency,
            auto_send=item.auto_send,
            billing_email=item.billing_email,
        ),
        profile=profile_from_json(item.profile),
    )


def device_from(item: DeviceItem) -> Device:
    return Device(
        id=item.record_id,
        customer_id=item.customer_id,
        linked_on=date.fromisoformat(item.linked_on),
        unlinked_on=_day(item.unlinked_on),
        name=item.name,
    )


def ticket_from(item: TicketItem) -> Ticket:
    return Ticket(item.record_id, item.customer_id, item.subject, item.number)


def project_from(item: ProjectItem) -> Project:
    return Project(
        id=item.record_id,
        customer_id=item.customer_id,
        code=item.code,
        name=item.name,
        billable=item.billable,
        hourly_rate=_d(item.hourly_rate),
    )


def contract_from(item: ContractItem) -> Contract:
    return Contract(
        id=item.record_id,
        customer_id=item.customer_id,
        name=item.name,
        included_hours=Decimal(item.included_hours),
        start_date=date.fromisoformat(item.start_date),
        end_date=_day(item.end_date),
        overage_hourly_rate=_d(item.overage_hourly_rate),
    )


# What entry_from reads, and so all the bill step asks DynamoDB for (a
# ProjectionExpression): the keys, the index keys, the organisation and the customer are
# known to the caller. 42% fewer bytes, and about 28% less of the CPU the bill Lambda
# spends parsing and building the items: 15-16 s instead of 21-22 s per 200,000 entries
# (bench/bench_entry_reads.py). tests/unit/test_item_mapping.py keeps the two in step.
ENTRY_ATTRIBUTES = (
    "kind",  # the discriminator: the index query returns items by their class
    "record_id",
    "date",
    "minutes",
    "billable",
    "ticket_id",
    "project_id",
    "description",
    "user_id",
)


def entry_from(item: TimeEntryItem) -> TimeEntry:
    return TimeEntry(
        id=item.record_id,
        date=date.fromisoformat(item.date),
        minutes=int(item.minutes),
        billable=item.billable,
        ticket_id=item.ticket_id,
        project_id=item.project_id,
        description=item.description,
        user_id=item.user_id,
    )


def _line_doc(ln: Line) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": ln.id,
        "kind": str(ln.kind),
        "description": ln.description,
        "quantity": dec(ln.quantity),
        "unitPrice": dec(ln.unit_price),
        "amount": dec(ln.amount),
        "minutes": dec(ln.minutes),
        "ref": ln.ref,
    }
    if ln.coverage is not None:
        c = ln.coverage
        # One compact row per covered ticket: id, label, minutes.
        doc["coverage"] = {
            "contract": c.contract_name,
            "included": dec(c.included_minutes),
            "tickets": [[t.ticket_id, t.label, dec(t.minutes)] for t in c.tickets],
        }
    return doc


def _coverage(doc: dict[str, Any] | None) -> Coverage | None:
    if doc is None:  # every line but included hours, and lines stored before coverage
        return None
    return Coverage(
        contract_name=doc["contract"],
        included_minutes=Decimal(doc["included"]),
        tickets=tuple(CoveredTicket(t[0], t[1], Decimal(t[2])) for t in doc["tickets"]),
    )


def lines_to_json(lines: tuple[Line, ...]) -> str:
    return json.dumps(
        [_line_doc(ln) for ln in lines],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def lines_from_json(text: str) -> tuple[Line, ...]:
    return tuple(
        Line(
            id=raw["id"],
            kind=LineKind(raw["kind"]),
            description=raw["description"],
            quantity=Decimal(raw["quantity"]),
            unit_price=Decimal(raw["unitPrice"]),
            amount=Decimal(raw["amount"]),
            minutes=_d(raw.get("minutes")),
            ref=raw.get("ref"),
            coverage=_coverage(raw.get("coverage")),
        )
        for raw in json.loads(text)
    )


def inputs_to_blob(inputs: StatementInputs) -> bytes:
    s = inputs.settings
    doc: dict[str, Any] = {
        "settings": {
            "perDeviceRate": dec(s.per_device_rate),
            "defaultHourlyRate": dec(s.default_hourly_rate),
            "taxPercent": dec(s.tax_percent),
            "currency": s.currency,
            "autoSend": s.auto_send,
            "billingEmail": s.billing_email,
        },
        "deviceIds": list(inputs.device_ids),
        "contractIds": list(inputs.contract_ids),
        # One compact row per entry: id, minutes, covered, billed, rate, line, contract.
        "entries": [
            [
                u.entry_id,
                u.minutes,
                dec(u.covered_minutes),
                dec(u.billed_minutes),
                dec(u.rate),
                u.line_id,
                u.contract_id,
            ]
            for u in inputs.entries
        ],
    }
    raw = json.dumps(doc, separators=(",", ":")).encode()
    return gzip.compress(raw, compresslevel=6, mtime=0)


def inputs_from_blob(blob: bytes) -> StatementInputs:
    doc = json.loads(gzip.decompress(blob))
    s = doc["settings"]
    return StatementInputs(
        settings=BillingSettings(
            per_device_rate=Decimal(s["perDeviceRate"]),
            default_hourly_rate=Decimal(s["defaultHourlyRate"]),
            tax_percent=Decimal(s["taxPercent"]),
            currency=s["currency"],
            auto_send=s["autoSend"],
            billing_email=s["billingEmail"],
        ),
        device_ids=tuple(doc["deviceIds"]),
        contract_ids=tuple(doc["contractIds"]),
        entries=tuple(
            EntryUse(
                entry_id=e[0],
                minutes=e[1],
                covered_minutes=Decimal(e[2]),
                billed_minutes=Decimal(e[3]),
                rate=_d(e[4]),
                line_id=e[5],
                contract_id=e[6],
            )
            for e in doc["entries"]
        ),
    )


def adjustment_from(item: AdjustmentItem) -> Adjustment:
    return Adjustment(
        number=int(item.number),
        kind=AdjustmentKind(item.adjustment_kind),
        at=item.at,
        actor=item.actor,
        reason=item.reason,
        line_id=item.line_id,
        description=item.description,
        quantity=_d(item.quantity),
        unit_price=_d(item.unit_price),
        amount=_d(item.amount),
        lines=lines_from_json(item.lines) if item.lines else (),
        entry_ids=tuple(json.loads(item.entry_ids)) if item.entry_ids else (),
    )


def delivery_status(item: StatementItem) -> StatementStatus:
    """A claim past its expiry with no outcome recorded (docs/reliability.md): released
    as send_failed when its sender never recorded handing the mail to SES (nothing was
    sent); send_unknown when it did, or when the claim predates hand-overs."""
    status = StatementStatus(item.status)
    expired = bool(item.claim_expires_at) and datetime.fromisoformat(
        item.claim_expires_at or ""
    ) <= datetime.now(UTC)
    if status is not StatementStatus.SENDING or not expired:
        return status
    if item.claimed_at and not item.handed_to_ses_at:
        return StatementStatus.SEND_FAILED
    return StatementStatus.SEND_UNKNOWN


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def statement_slot(item: StatementItem) -> tuple[int, bool]:
    """A version-1 statement item's slot (docs/data-model.md "Billed once"): the newest
    version of its (customer, period) and whether that one is void. Items written before
    re-billing existed have no slot attributes: version 1, not void."""
    version = int(item.latest_version or 1)
    void = bool(item.latest_void) if item.latest_void is not None else item.status == "void"
    return version, void


def statement_from(
    item: StatementItem,
    *,
    with_inputs: bool = False,
    adjustments: tuple[Adjustment, ...] = (),
    bodies: StatementBodies | None = None,
    delivery_events: tuple[DeliveryEvent, ...] = (),
) -> Statement:
    lines_json, inputs_blob = item.lines, item.inputs
    status = delivery_status(item)
    last_error = item.last_error
    if status is StatementStatus.SEND_FAILED and item.status == str(StatementStatus.SENDING):
        last_error = STOPPED_BEFORE_SES  # a released claim: nothing reached SES
    notice = None
    if status is StatementStatus.VOID:
        notice = void_notice_state(
            was_sent=item.sent_revision is not None,
            sent_at=_moment(item.void_notice_sent_at),
            error=item.void_notice_error,
            claimed_at=_moment(item.void_notice_claimed_at),
            handed_at=_moment(item.void_notice_handed_at),
            now=datetime.now(UTC),
        )
    notice_error = item.void_notice_error
    if notice is VoidNoticeState.RELEASED:
        notice_error = NOTICE_STOPPED_BEFORE_SES
    if item.body_key:  # a very big month: lines and inputs are in S3
        lines_json, inputs_blob = (bodies or default_bodies()).get(item.body_key)
    return Statement(
        id=item.statement_id,
        allocated_number=item.number or "",
        org_id=item.org_id,
        customer_id=item.customer_id,
        customer_name=item.customer_name,
        period=Period.parse(item.period),
        currency=item.currency,
        status=status,
        revision=int(item.revision),
        lines=lines_from_json(lines_json),
        subtotal=Decimal(item.subtotal),
        tax_percent=Decimal(item.tax_percent),
        tax=Decimal(item.tax),
        total=Decimal(item.total),
        auto_send=item.auto_send,
        billing_email=item.billing_email,
        created_at=datetime.fromisoformat(item.created_at),
        run_id=item.run_id,
        inputs=inputs_from_blob(inputs_blob) if with_inputs else None,
        send_attempts=int(item.send_attempts or 0),
        last_error=last_error,
        sent_revision=None if item.sent_revision is None else int(item.sent_revision),
        sent_at=None if item.sent_at is None else datetime.fromisoformat(item.sent_at),
        adjustments=adjustments,
        customer_profile=profile_from_json(item.profile),
        message_id=item.message_id,
        delivery=DeliveryEvent.from_public(json.loads(item.delivery)) if item.delivery else None,
        delivery_events=delivery_events,
        evidence=evidence_from(item.evidence) if item.evidence else None,
        version=int(item.version or 1),
        void_notice_sent_at=(
            datetime.fromisoformat(item.void_notice_sent_at) if item.void_notice_sent_at else None
        ),
        void_notice_error=notice_error,
        void_notice_claimed_at=_moment(item.void_notice_claimed_at),
        void_notice_handed_at=_moment(item.void_notice_handed_at),
        void_notice=notice,
        void_notice_marked_by=item.void_notice_marked_by,
        claimed_at=_moment(item.claimed_at),
        handed_to_ses_at=_moment(item.handed_to_ses_at),
        claim_expires_at=_moment(item.claim_expires_at),
    )


def statement_item(st: Statement, bodies: StatementBodies | None = None) -> StatementItem:
    """A new statement (revision 0) with the inputs it was computed from. Lines and
    inputs too large for an item are written to S3 first (``bodies``) and the item
    points at them."""
    assert st.inputs is not None, "a new statement records its inputs"
    period = str(st.period)
    lines = lines_to_json(st.lines)
    inputs = inputs_to_blob(st.inputs)
    key: str | None = None
    if len(lines.encode()) + len(inputs) > INLINE_LIMIT:
        key = body_key(st.org_id, period, st.customer_id, st.run_id)
        (bodies or default_bodies()).put(key, lines, inputs)
        lines, inputs = "", gzip.compress(b"{}", mtime=0)
    return StatementItem(
        pk=keys.statement_pk(st.id),
        sk=keys.STATEMENT_SK,
        org_id=st.org_id,
        gsi1pk=keys.customer_view_pk(st.org_id, st.customer_id),
        gsi1sk=keys.statement_view_sk(period, st.version),
        gsi2pk=keys.org_statements_pk(st.org_id, keys.statement_shard(st.customer_id)),
        gsi2sk=keys.org_statements_sk(period, st.customer_id, st.version),
        statement_id=st.id,
        version=None if st.version == 1 else st.version,
        number=st.allocated_number or None,
        customer_id=st.customer_id,
        customer_name=st.customer_name,
        period=period,
        currency=st.currency,
        status=str(st.status),
        revision=st.revision,
        lines=lines,
        body_key=key,
        subtotal=dec(st.subtotal),
        tax_percent=dec(st.tax_percent),
        tax=dec(st.tax),
        total=dec(st.total),
        auto_send=st.auto_send,
        billing_email=st.billing_email,
        created_at=st.created_at.isoformat(),
        run_id=st.run_id,
        inputs=inputs,
        profile=profile_to_json(st.customer_profile),
        send_attempts=0,
        last_error=st.last_error,
        evidence=evidence_json(st.evidence) if st.evidence else None,
    )


def adjustment_item(st: Statement, adj: Adjustment) -> AdjustmentItem:
    period = str(st.period)
    return AdjustmentItem(
        pk=keys.statement_pk(st.id),
        sk=keys.adjustment_sk(adj.number),
        # Listed right after its statement in GSI2, so lists show current totals.
        gsi2pk=keys.org_statements_pk(st.org_id, keys.statement_shard(st.customer_id)),
        gsi2sk=keys.org_adjustment_sk(period, st.customer_id, adj.number, st.version),
        org_id=st.org_id,
        statement_id=st.id,
        number=adj.number,
        adjustment_kind=str(adj.kind),
        at=adj.at,
        actor=adj.actor,
        reason=adj.reason,
        line_id=adj.line_id,
        description=adj.description,
        quantity=dec(adj.quantity),
        unit_price=dec(adj.unit_price),
        amount=dec(adj.amount),
        lines=lines_to_json(adj.lines) if adj.lines else None,
        entry_ids=json.dumps(list(adj.entry_ids)) if adj.entry_ids else None,
    )


def adjustment_request_item(
    st: Statement, adj: Adjustment, request_key: str
) -> AdjustmentRequestItem:
    """``request_key`` is the caller's scoped key (who asked, and their Idempotency-Key);
    only its hash is stored."""
    digest = hashlib.sha256(request_key.encode()).hexdigest()[:40]
    return AdjustmentRequestItem(
        pk=keys.adjustment_request_pk(st.id, digest),
        sk=keys.RECORD_SK,
        org_id=st.org_id,
        statement_id=st.id,
        number=adj.number,
    )


def outcome_item(o: CustomerOutcome, at: str) -> OutcomeItem:
    return OutcomeItem(
        pk=keys.run_pk(o.run_id),
        sk=keys.outcome_sk(o.org_id, o.customer_id),
        org_id=o.org_id,
        run_id=o.run_id,
        customer_id=o.customer_id,
        outcome=str(o.outcome),
        statement_id=o.statement_id,
        error=o.error,
        at=at,
        late_entries=o.late_entries or None,
        late_minutes=o.late_minutes or None,
    )


def outcome_from(item: OutcomeItem) -> CustomerOutcome:
    return CustomerOutcome(
        run_id=item.run_id,
        org_id=item.org_id,
        customer_id=item.customer_id,
        outcome=Outcome(item.outcome),
        statement_id=item.statement_id,
        error=item.error,
        late_entries=int(item.late_entries or 0),
        late_minutes=int(item.late_minutes or 0),
    )


def run_item(run: Run) -> RunItem:
    return RunItem(
        pk=keys.run_pk(run.run_id),
        sk=keys.RUN_SK,
        org_id=",".join(run.org_ids),
        run_id=run.run_id,
        period=run.period,
        org_ids=",".join(run.org_ids),
        leased_org_ids=",".join(run.leased_org_ids),
        status=str(run.status),
        total=run.total,
        started_at=run.started_at,
        counts=json.dumps(run.counts, sort_keys=True),
    )


def run_from(item: RunItem) -> Run:
    return Run(
        run_id=item.run_id,
        period=item.period,
        org_ids=tuple(x for x in item.org_ids.split(",") if x),
        status=RunStatus(item.status),
        total=int(item.total),
        started_at=item.started_at,
        finished_at=item.finished_at,
        counts=json.loads(item.counts) if item.counts else {},
        error=item.error,
        leased_org_ids=tuple(x for x in (item.leased_org_ids or "").split(",") if x),
    )


def org_item(org: OrgSettings, updated_at: str) -> OrgItem:
    return OrgItem(
        pk=keys.ORGS_PK,
        sk=keys.org_sk(org.id),
        org_id=org.id,
        name=org.name,
        address="\n".join(org.address_lines),
        email=org.email or "",
        updated_at=updated_at,
        settings=json.dumps(org.public(), ensure_ascii=False, separators=(",", ":")),
    )


def org_from(item: OrgItem) -> OrgSettings:
    if item.settings:
        return parse_org_settings(json.loads(item.settings))
    # Stored before settings were kept whole: name, address and email only.
    org = new_org_settings(item.org_id, item.name or None)
    address = [x for x in item.address.split("\n") if x]
    changes: dict[str, object] = {"addressLines": address} if address else {}
    if item.email:
        changes["email"] = item.email
    return update_org_settings(org, changes) if changes else org


def import_items(v: ValidatedImport, existing_org: OrgSettings | None, now: str) -> Iterator[Item]:
    """Every item an accepted import document writes (upsert by id). Organisation
    settings the document does not carry are kept."""
    org = v.org_id
    settings = existing_org or new_org_settings(org, v.org_name)
    changes: dict[str, object] = v.org_settings.changes() if v.org_settings else {}
    if v.org_name:
        changes.setdefault("name", v.org_name)
    yield org_item(update_org_settings(settings, changes) if changes else settings, now)
    for c in v.customers:
        b = c.billing
        yield CustomerItem(
            pk=keys.org_pk(org),
            sk=keys.customer_sk(c.id),
            gsi1pk=keys.customer_view_pk(org, c.id),
            gsi1sk=keys.CUSTOMER_SK,
            org_id=org,
            customer_id=c.id,
            name=c.name,
            per_device_rate=dec(b.per_device_rate),
            default_hourly_rate=dec(b.default_hourly_rate),
            tax_percent=dec(b.tax_percent),
            currency=b.currency,
            auto_send=b.auto_send,
            billing_email=b.billing_email,
            # The record as the document gives it: details it leaves out are not set.
            profile=profile_to_json(c.profile),
        )
    for d in v.devices:
        yield DeviceItem(
            pk=keys.record_pk(org, "DEV", d.id),
            sk=keys.RECORD_SK,
            gsi1pk=keys.customer_view_pk(org, d.customer_id),
            gsi1sk=keys.ref_sk("DEV", d.id),
            org_id=org,
            record_id=d.id,
            customer_id=d.customer_id,
            name=d.name,
            linked_on=d.linked_on.isoformat(),
            unlinked_on=d.unlinked_on.isoformat() if d.unlinked_on else None,
        )
    for t in v.tickets:
        yield TicketItem(
            pk=keys.record_pk(org, "TKT", t.id),
            sk=keys.RECORD_SK,
            gsi1pk=keys.customer_view_pk(org, t.customer_id),
            gsi1sk=keys.ref_sk("TKT", t.id),
            org_id=org,
            record_id=t.id,
            customer_id=t.customer_id,
            subject=t.subject,
            number=t.number,
        )
    for p in v.projects:
        yield ProjectItem(
            pk=keys.record_pk(org, "PRJ", p.id),
            sk=keys.RECORD_SK,
            gsi1pk=keys.customer_view_pk(org, p.customer_id),
            gsi1sk=keys.ref_sk("PRJ", p.id),
            gsi2pk=keys.org_projects_pk(org),
            gsi2sk=keys.org_project_sk(p.code, p.id),
            org_id=org,
            record_id=p.id,
            customer_id=p.customer_id,
            code=p.code,
            name=p.name,
            billable=p.billable,
            hourly_rate=dec(p.hourly_rate),
        )
    for k in v.contracts:
        yield ContractItem(
            pk=keys.record_pk(org, "CON", k.id),
            sk=keys.RECORD_SK,
            gsi1pk=keys.customer_view_pk(org, k.customer_id),
            gsi1sk=keys.ref_sk("CON", k.id),
            org_id=org,
            record_id=k.id,
            customer_id=k.customer_id,
            name=k.name,
            included_hours=dec(k.included_hours),
            overage_hourly_rate=dec(k.overage_hourly_rate),
            start_date=k.start_date.isoformat(),
            end_date=k.end_date.isoformat() if k.end_date else None,
        )
    for e in v.entries:
        customer_id = v.entry_customers[e.id]
        yield TimeEntryItem(
            pk=keys.record_pk(org, "TE", e.id),
            sk=keys.RECORD_SK,
            gsi1pk=keys.customer_view_pk(org, customer_id),
            gsi1sk=keys.entry_sk(e.date, e.id),
            org_id=org,
            record_id=e.id,
            customer_id=customer_id,
            date=e.date.isoformat(),
            minutes=e.minutes,
            billable=e.billable,
            ticket_id=e.ticket_id,
            project_id=e.project_id,
            description=e.description,
            user_id=e.user_id,
        )


# -- the daily schedule's records (dal/schedule.py) -----------------------------------


def scheduled_run_item(
    org_id: str, period: str, run_id: str, due_at: str, claimed_at: str
) -> ScheduledRunItem:
    return ScheduledRunItem(
        pk=keys.ORGS_PK,
        sk=keys.scheduled_sk(period, org_id),
        org_id=org_id,
        period=period,
        run_id=run_id,
        due_at=due_at,
        claimed_at=claimed_at,
        state="claimed",
    )


# -- delivery you can see (dal/delivery.py) -------------------------------------------


def message_item(message_id: str, org_id: str, statement_id: str, revision: int) -> MessageItem:
    """Written with the send's outcome: finds the statement by SES's message id."""
    return MessageItem(
        pk=keys.message_pk(message_id),
        sk=keys.MESSAGE_SK,
        org_id=org_id,
        statement_id=statement_id,
        revision=revision,
    )


def delivery_event_json(event: DeliveryEvent) -> str:
    return json.dumps(event.public(), sort_keys=True, ensure_ascii=False)


def delivery_event_item(
    org_id: str, statement_id: str, event: DeliveryEvent, notification_id: str
) -> DeliveryEventItem:
    return DeliveryEventItem(
        pk=keys.statement_pk(statement_id),
        sk=keys.delivery_event_sk(event.at, notification_id),
        org_id=org_id,
        statement_id=statement_id,
        event=delivery_event_json(event),
    )


def delivery_event_from(item: DeliveryEventItem) -> DeliveryEvent:
    return DeliveryEvent.from_public(json.loads(item.event))


# -- review evidence (domain/review.py) ------------------------------------------------


def _summary_doc(s: StatementSummary | None, *, with_devices: bool) -> dict[str, Any] | None:
    if s is None:
        return None
    doc: dict[str, Any] = {
        "period": str(s.period),
        "statementId": s.statement_id,
        "number": s.number,
        "currency": s.currency,
        "billedMinutes": dec(s.billed_minutes),
        "total": dec(s.total),
    }
    if with_devices:
        doc["deviceIds"] = list(s.device_ids)
    return doc


def _summary_from(doc: dict[str, Any] | None) -> StatementSummary | None:
    if doc is None:
        return None
    return StatementSummary(
        period=Period.parse(doc["period"]),
        statement_id=doc["statementId"],
        number=doc["number"],
        currency=doc["currency"],
        device_ids=tuple(doc.get("deviceIds") or ()),
        billed_minutes=Decimal(doc["billedMinutes"]),
        total=Decimal(doc["total"]),
    )


def evidence_json(ev: Evidence) -> str:
    """The previous statement without its device ids: the differences are kept."""
    return json.dumps(
        {
            "previous": _summary_doc(ev.previous, with_devices=False),
            "previousDeviceCount": ev.previous_device_count,
            "deviceCount": ev.device_count,
            "devicesAdded": list(ev.devices_added),
            "devicesRemoved": list(ev.devices_removed),
            "billedMinutes": dec(ev.billed_minutes),
            "total": dec(ev.total),
            "currency": ev.currency,
            "held": list(ev.held),
            "note": ev.note,
        },
        sort_keys=True,
    )


def evidence_from(text: str) -> Evidence:
    doc = json.loads(text)
    return Evidence(
        previous=_summary_from(doc["previous"]),
        previous_device_count=int(doc["previousDeviceCount"]),
        device_count=int(doc["deviceCount"]),
        devices_added=tuple(doc["devicesAdded"]),
        devices_removed=tuple(doc["devicesRemoved"]),
        billed_minutes=Decimal(doc["billedMinutes"]),
        total=Decimal(doc["total"]),
        currency=doc["currency"],
        held=tuple(doc["held"]),
        note=doc.get("note"),
    )


def last_statements_item(org_id: str, customer_id: str, h: StatementHistory) -> LastStatementsItem:
    view = keys.customer_view_pk(org_id, customer_id)
    return LastStatementsItem(
        pk=view,
        sk=keys.LAST_STATEMENTS_SK,
        gsi1pk=view,
        gsi1sk=keys.LAST_STATEMENTS_VIEW_SK,
        org_id=org_id,
        customer_id=customer_id,
        summaries=json.dumps(
            {
                "latest": _summary_doc(h.latest, with_devices=True),
                "before": _summary_doc(h.before, with_devices=True),
            },
            sort_keys=True,
        ),
        version=h.version,
    )


def last_statements_from(item: LastStatementsItem) -> StatementHistory:
    doc = json.loads(item.summaries)
    return StatementHistory(
        latest=_summary_from(doc.get("latest")),
        before=_summary_from(doc.get("before")),
        version=int(item.version),
    )


# ======================================================================================
# Key handles: an item named by its key alone, the target of a conditional update,
# delete or condition check (repository, leases, API access, InvoiceNinja sync).
# ======================================================================================


def statement_handle(statement_id: str) -> StatementItem:
    return StatementItem(pk=keys.statement_pk(statement_id), sk=keys.STATEMENT_SK)


def scheduled_run_handle(org_id: str, period: str) -> ScheduledRunItem:
    return ScheduledRunItem(pk=keys.ORGS_PK, sk=keys.scheduled_sk(period, org_id))


def run_handle(run_id: str) -> RunItem:
    return RunItem(pk=keys.run_pk(run_id), sk=keys.RUN_SK)


def customer_handle(org_id: str, customer_id: str) -> CustomerItem:
    return CustomerItem(pk=keys.org_pk(org_id), sk=keys.customer_sk(customer_id))


def lease_handle(org_id: str, sk: str) -> LeaseItem:
    return LeaseItem(pk=keys.org_pk(org_id), sk=sk)


def membership_handle(user_sub: str, org_id: str) -> MembershipItem:
    return MembershipItem(pk=keys.user_pk(user_sub), sk=keys.membership_sk(org_id))


def invoiceninja_client_handle(org_id: str, customer_id: str) -> InvoiceNinjaClientItem:
    return InvoiceNinjaClientItem(
        pk=keys.invoiceninja_clients_pk(org_id), sk=keys.invoiceninja_client_sk(customer_id)
    )


def invoiceninja_lock_handle(org_id: str, source: Source) -> InvoiceNinjaLockItem:
    return InvoiceNinjaLockItem(
        pk=keys.invoiceninja_source_pk(org_id, source.kind, source.id), sk=keys.IN_LOCK_SK
    )


# ======================================================================================
# Statement numbering and an organisation's runs (dal/repository.py, dal/access.py)
# ======================================================================================


def counter_item(org_id: str, next_number: int) -> CounterItem:
    return CounterItem(
        pk=keys.org_pk(org_id), sk=keys.NUMBER_COUNTER_SK, org_id=org_id, next=next_number
    )


def number_item(org_id: str, number: str, statement_id: str) -> NumberItem:
    return NumberItem(
        pk=keys.org_pk(org_id), sk=keys.number_sk(number), org_id=org_id, statement_id=statement_id
    )


def org_run_item(run: OrgRun, org_id: str) -> OrgRunItem:
    return OrgRunItem(
        pk=keys.org_runs_pk(org_id),
        sk=keys.org_run_sk(run.started_at, run.run_id),
        org_id=org_id,
        run_id=run.run_id,
        period=run.period,
        started_at=run.started_at,
        started_by=run.started_by,
        execution_arn=run.execution_arn,
    )


def org_run_from(item: OrgRunItem) -> OrgRun:
    return OrgRun(item.run_id, item.period, item.started_at, item.started_by, item.execution_arn)


def active_run_item(org_id: str, period: str, run: ActiveRun) -> ActiveRunItem:
    return ActiveRunItem(
        pk=keys.active_run_pk(org_id, period),
        sk=keys.ACTIVE_RUN_SK,
        org_id=org_id,
        run_id=run.run_id,
        period=period,
        execution_arn=run.execution_arn,
    )


def active_run_from(item: ActiveRunItem) -> ActiveRun:
    return ActiveRun(item.run_id, item.execution_arn)


# ======================================================================================
# Leases and import state (dal/leases.py)
# ======================================================================================


def lease_item(org_id: str, sk: str, holder: str, expires_at: float) -> LeaseItem:
    return LeaseItem(
        pk=keys.org_pk(org_id), sk=sk, org_id=org_id, holder=holder, expires_at=expires_at
    )


def import_state_item(org_id: str, state: ImportState) -> ImportStateItem:
    return ImportStateItem(
        pk=keys.org_pk(org_id),
        sk=keys.IMPORT_STATE_SK,
        org_id=org_id,
        status=state.status,
        holder=state.holder,
        document_sha256=state.document_sha256,
        started_at=state.started_at,
        finished_at=state.finished_at,
        items_written=state.items_written,
    )


def import_state_from(item: ImportStateItem) -> ImportState:
    return ImportState(
        status=item.status,
        holder=item.holder,
        document_sha256=item.document_sha256,
        started_at=item.started_at,
        finished_at=item.finished_at,
        items_written=int(item.items_written or 0),
    )


# ======================================================================================
# The API's own data (dal/access.py): memberships, machine clients, sign-in failures,
# customers' billing settings and their history, feature flags
# ======================================================================================


def membership_item(
    user_sub: str, email: str, org_id: str, role: str, updated_at: str
) -> MembershipItem:
    return MembershipItem(
        pk=keys.user_pk(user_sub),
        sk=keys.membership_sk(org_id),
        gsi1pk=keys.org_members_pk(org_id),
        gsi1sk=keys.member_sk(user_sub),
        org_id=org_id,
        user_sub=user_sub,
        email=email,
        role=role,
        updated_at=updated_at,
    )


def member_from(item: MembershipItem) -> Member:
    return Member(item.user_sub, item.email, item.org_id, item.role)


def user_item(user_sub: str, email: str, signed_out_at: int) -> UserItem:
    return UserItem(
        pk=keys.user_pk(user_sub),
        sk=keys.USER_SK,
        org_id=NO_ORG,
        user_sub=user_sub,
        email=email,
        signed_out_at=signed_out_at,
    )


def machine_client_item(client: MachineClient, created_at: str) -> MachineClientItem:
    return MachineClientItem(
        pk=keys.machine_client_pk(client.client_id),
        sk=keys.MACHINE_CLIENT_SK,
        gsi1pk=keys.org_clients_pk(client.org_id),
        gsi1sk=client.client_id,
        org_id=client.org_id,
        client_id=client.client_id,
        name=client.name,
        scope=client.scope,
        created_at=created_at,
    )


def machine_client_from(item: MachineClientItem) -> MachineClient:
    return MachineClient(item.client_id, item.org_id, item.name, item.scope)


def login_failure_item(
    account_hash: str, failures: int, first_at: int, locked_until: int | None
) -> LoginFailureItem:
    return LoginFailureItem(
        pk=keys.login_failure_pk(account_hash),
        sk=keys.LOGIN_FAILURE_SK,
        org_id=NO_ORG,
        failures=failures,
        first_at=first_at,
        locked_until=locked_until,
    )


def login_failures_from(item: LoginFailureItem) -> tuple[int, int, int | None]:
    """(failures, first failure epoch, locked until epoch or None)."""
    locked = None if item.locked_until is None else int(item.locked_until)
    return int(item.failures), int(item.first_at), locked


def billing_doc(b: BillingSettings) -> dict[str, Any]:
    """A customer's billing settings as the history records them (camelCase)."""
    return {
        "perDeviceRate": dec(b.per_device_rate),
        "defaultHourlyRate": dec(b.default_hourly_rate),
        "taxPercent": dec(b.tax_percent),
        "currency": b.currency,
        "autoSend": b.auto_send,
        "billingEmail": b.billing_email,
    }


def customer_billing_actions(
    new: BillingSettings, profile: CustomerProfile | None = None
) -> list[Action]:
    """The update that stores ``new`` (and the statement details ``profile``, when
    given) on a customer item."""
    actions: list[Action] = [
        CustomerItem.per_device_rate.set(dec(new.per_device_rate) or "0"),
        CustomerItem.default_hourly_rate.set(dec(new.default_hourly_rate) or "0"),
        CustomerItem.tax_percent.set(dec(new.tax_percent) or "0"),
        CustomerItem.currency.set(new.currency),
        CustomerItem.auto_send.set(new.auto_send),
        CustomerItem.billing_email.set(new.billing_email),
    ]
    if profile is not None:
        text = profile_to_json(profile)
        actions.append(
            CustomerItem.profile.remove() if text is None else CustomerItem.profile.set(text)
        )
    return actions


def customer_billing_is(old: BillingSettings, profile: CustomerProfile | None = None) -> Condition:
    """A condition that holds while the customer item still stores ``old`` (and the
    statement details ``profile``, when given)."""
    condition: Condition = (
        (CustomerItem.per_device_rate == dec(old.per_device_rate))
        & (CustomerItem.default_hourly_rate == dec(old.default_hourly_rate))
        & (CustomerItem.tax_percent == dec(old.tax_percent))
        & (CustomerItem.currency == old.currency)
        & (CustomerItem.auto_send == old.auto_send)
        & (CustomerItem.billing_email == old.billing_email)
    )
    if profile is not None:
        text = profile_to_json(profile)
        condition &= (
            CustomerItem.profile.does_not_exist() if text is None else CustomerItem.profile == text
        )
    return condition


def settings_change_item(
    org_id: str, customer_id: str, change: SettingsChange, suffix: str
) -> SettingsChangeItem:
    return SettingsChangeItem(
        pk=keys.settings_history_pk(org_id, customer_id),
        sk=keys.settings_history_sk(change.at, suffix),
        org_id=org_id,
        customer_id=customer_id,
        at=change.at,
        actor=change.actor,
        changes=json.dumps(change.changes, sort_keys=True),
    )


def settings_change_from(item: SettingsChangeItem) -> SettingsChange:
    return SettingsChange(item.at, item.actor, json.loads(item.changes))


def org_features_item(
    org_id: str, features: dict[str, bool], updated_at: str, actor: str
) -> OrgFeaturesItem:
    return OrgFeaturesItem(
        pk=keys.org_pk(org_id),
        sk=keys.ORG_FEATURES_SK,
        org_id=org_id,
        features=json.dumps(features, sort_keys=True),
        updated_at=updated_at,
        updated_by=actor,
    )


def org_features_from(item: OrgFeaturesItem) -> dict[str, bool]:
    return {str(k): bool(v) for k, v in json.loads(item.features).items()}


# ======================================================================================
# The InvoiceNinja sync's own state (dal/invoiceninja_store.py): client mappings, push
# locks, push records. Stamps have one fixed-width UTC format, so that they compare
# correctly as strings in conditions.
# ======================================================================================


def invoiceninja_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _invoiceninja_moment(text: str | None) -> datetime | None:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC) if text else None


def invoiceninja_client_claim(
    org_id: str, customer_id: str, claim_id: str, now: datetime
) -> InvoiceNinjaClientItem:
    return InvoiceNinjaClientItem(
        pk=keys.invoiceninja_clients_pk(org_id),
        sk=keys.invoiceninja_client_sk(customer_id),
        org_id=org_id,
        customer_id=customer_id,
        claim_id=claim_id,
        claimed_at=invoiceninja_stamp(now),
    )


def client_mapping_from(item: InvoiceNinjaClientItem) -> ClientMapping:
    return ClientMapping(
        customer_id=item.customer_id,
        in_client_id=item.in_client_id,
        claim_id=item.claim_id,
        claimed_at=_invoiceninja_moment(item.claimed_at),
    )


def invoiceninja_lock(
    org_id: str, source: Source, claim_id: str, now: datetime
) -> InvoiceNinjaLockItem:
    return InvoiceNinjaLockItem(
        pk=keys.invoiceninja_source_pk(org_id, source.kind, source.id),
        sk=keys.IN_LOCK_SK,
        org_id=org_id,
        claim_id=claim_id,
        claimed_at=invoiceninja_stamp(now),
    )


def push_item(org_id: str, record: PushRecord) -> InvoiceNinjaPushItem:
    return InvoiceNinjaPushItem(
        pk=keys.invoiceninja_source_pk(org_id, record.source.kind, record.source.id),
        sk=keys.invoiceninja_push_sk(record.key),
        org_id=org_id,
        push_key=record.key,
        source_kind=record.source.kind,
        source_id=record.source.id,
        document_kind=record.document_kind,
        document_id=record.document_id,
        document_number=record.document_number,
        in_client_id=record.in_client_id,
        entry_ids=json.dumps(list(record.entry_ids)),
        pushed_at=invoiceninja_stamp(record.pushed_at),
    )


def push_from(item: InvoiceNinjaPushItem) -> PushRecord:
    return PushRecord(
        key=item.push_key,
        source=Source(cast(SourceKind, item.source_kind), item.source_id),
        document_kind=cast(DocumentKind, item.document_kind),
        document_id=item.document_id,
        document_number=item.document_number,
        in_client_id=item.in_client_id,
        entry_ids=tuple(json.loads(item.entry_ids)),
        pushed_at=_invoiceninja_moment(item.pushed_at) or datetime.min.replace(tzinfo=UTC),
    )
