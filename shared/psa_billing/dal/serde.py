"""The one mapping between stored items and domain objects (money and dates as strings).

Nothing else builds pynamodb items: the repository and the import adapter call these.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from psa_billing.dal import keys
from psa_billing.dal.bodies import INLINE_LIMIT, StatementBodies, body_key, default_bodies
from psa_billing.dal.models import (
    AdjustmentItem,
    ContractItem,
    CustomerItem,
    DeviceItem,
    Item,
    OrgItem,
    OutcomeItem,
    ProjectItem,
    RunItem,
    StatementItem,
    TicketItem,
    TimeEntryItem,
)
from psa_billing.domain.adjustments import Adjustment, AdjustmentKind
from psa_billing.domain.model import (
    BillingSettings,
    Contract,
    Customer,
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
from psa_billing.domain.run import CustomerOutcome, Outcome, Run, RunStatus
from psa_billing.domain.statement import Statement, StatementStatus
from psa_billing.ingest.validate import ValidatedImport


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def dec(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


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


def lines_to_json(lines: tuple[Line, ...]) -> str:
    return json.dumps(
        [
            {
                "id": ln.id,
                "kind": str(ln.kind),
                "description": ln.description,
                "quantity": dec(ln.quantity),
                "unitPrice": dec(ln.unit_price),
                "amount": dec(ln.amount),
                "minutes": dec(ln.minutes),
                "ref": ln.ref,
            }
            for ln in lines
        ],
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


def _delivery_status(item: StatementItem) -> StatementStatus:
    """A claim past its expiry with no outcome recorded reads as send_unknown."""
    status = StatementStatus(item.status)
    expired = bool(item.claim_expires_at) and datetime.fromisoformat(
        item.claim_expires_at or ""
    ) <= datetime.now(UTC)
    return StatementStatus.SEND_UNKNOWN if status is StatementStatus.SENDING and expired else status


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
) -> Statement:
    lines_json, inputs_blob = item.lines, item.inputs
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
        status=_delivery_status(item),
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
        last_error=item.last_error,
        sent_revision=None if item.sent_revision is None else int(item.sent_revision),
        sent_at=None if item.sent_at is None else datetime.fromisoformat(item.sent_at),
        adjustments=adjustments,
        version=int(item.version or 1),
        void_notice_sent_at=(
            datetime.fromisoformat(item.void_notice_sent_at) if item.void_notice_sent_at else None
        ),
        void_notice_error=item.void_notice_error,
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
        send_attempts=0,
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
