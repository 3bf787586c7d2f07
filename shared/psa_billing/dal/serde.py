"""Conversions between stored items and domain objects (money and dates as strings)."""

from __future__ import annotations

import gzip
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from psa_billing.dal.models import (
    AdjustmentItem,
    ContractItem,
    CustomerItem,
    DeviceItem,
    ProjectItem,
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
from psa_billing.domain.statement import Statement, StatementStatus


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
    )


def statement_from(
    item: StatementItem,
    *,
    with_inputs: bool = False,
    adjustments: tuple[Adjustment, ...] = (),
) -> Statement:
    return Statement(
        id=item.statement_id,
        org_id=item.org_id,
        customer_id=item.customer_id,
        customer_name=item.customer_name,
        period=Period.parse(item.period),
        currency=item.currency,
        status=StatementStatus(item.status),
        revision=int(item.revision),
        lines=lines_from_json(item.lines),
        subtotal=Decimal(item.subtotal),
        tax_percent=Decimal(item.tax_percent),
        tax=Decimal(item.tax),
        total=Decimal(item.total),
        auto_send=item.auto_send,
        billing_email=item.billing_email,
        created_at=datetime.fromisoformat(item.created_at),
        run_id=item.run_id,
        inputs=inputs_from_blob(item.inputs) if with_inputs else None,
        send_attempts=int(item.send_attempts or 0),
        last_error=item.last_error,
        sent_revision=None if item.sent_revision is None else int(item.sent_revision),
        sent_at=None if item.sent_at is None else datetime.fromisoformat(item.sent_at),
        adjustments=adjustments,
    )


def statement_to_payload(st: Statement) -> dict[str, Any]:
    """A compact, exact copy of a statement (without its inputs) for a state payload."""
    return {
        "id": st.id,
        "orgId": st.org_id,
        "customerId": st.customer_id,
        "customerName": st.customer_name,
        "period": str(st.period),
        "currency": st.currency,
        "status": str(st.status),
        "revision": st.revision,
        "lines": lines_to_json(st.lines),
        "subtotal": dec(st.subtotal),
        "taxPercent": dec(st.tax_percent),
        "tax": dec(st.tax),
        "total": dec(st.total),
        "autoSend": st.auto_send,
        "billingEmail": st.billing_email,
        "createdAt": st.created_at.isoformat(),
        "runId": st.run_id,
    }


def statement_from_payload(doc: dict[str, Any]) -> Statement:
    return Statement(
        id=doc["id"],
        org_id=doc["orgId"],
        customer_id=doc["customerId"],
        customer_name=doc["customerName"],
        period=Period.parse(doc["period"]),
        currency=doc["currency"],
        status=StatementStatus(doc["status"]),
        revision=int(doc["revision"]),
        lines=lines_from_json(doc["lines"]),
        subtotal=Decimal(doc["subtotal"]),
        tax_percent=Decimal(doc["taxPercent"]),
        tax=Decimal(doc["tax"]),
        total=Decimal(doc["total"]),
        auto_send=bool(doc["autoSend"]),
        billing_email=doc["billingEmail"],
        created_at=datetime.fromisoformat(doc["createdAt"]),
        run_id=doc["runId"],
    )
