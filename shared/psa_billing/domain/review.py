"""Review with evidence (docs/billing-rules.md "Review with evidence"). Pure.

Every new statement records, beside its lines, how it differs from the customer's
previous statement: the device count and which devices came and went, the billed hours
and the total, as differences. An organisation may set thresholds
(``OrgSettings.review_thresholds``); a statement past one is held for review, even when
the customer has auto-send, with the reason.

The previous statement is read by key, for free: each customer has one small item
beside its settings (``StatementHistory``: a summary of its latest statement and of the
one before), which the bill step's first Query returns with the customer and which the
statement's creating transaction rewrites. Two summaries, not one, so that a month
billed again (after a void) is still compared with the month before it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from psa_billing.domain.model import Period, StatementInputs
from psa_billing.domain.money import Currency, format_amount
from psa_billing.domain.org import ReviewThresholds


@dataclass(frozen=True, slots=True)
class StatementSummary:
    """What a later statement is compared with."""

    period: Period
    statement_id: str
    number: str
    currency: str
    device_ids: tuple[str, ...]
    billed_minutes: Decimal  # time charged for (after the contract's included hours)
    total: Decimal

    @classmethod
    def of(
        cls, *, statement_id: str, number: str, period: Period, currency: str,
        total: Decimal, inputs: StatementInputs,
    ) -> StatementSummary:  # fmt: skip
        return cls(
            period=period,
            statement_id=statement_id,
            number=number,
            currency=currency,
            device_ids=tuple(sorted(inputs.device_ids)),
            billed_minutes=billed_minutes(inputs),
            total=total,
        )


def billed_minutes(inputs: StatementInputs) -> Decimal:
    return sum((e.billed_minutes for e in inputs.entries), Decimal(0))


@dataclass(frozen=True, slots=True)
class StatementHistory:
    """A customer's latest statement and the one before (either may be missing);
    ``version`` guards the rewrite (a concurrent bill of the customer retries)."""

    latest: StatementSummary | None = None
    before: StatementSummary | None = None
    version: int = 0

    def previous_for(self, period: Period) -> StatementSummary | None:
        """The statement a new one for ``period`` is compared with: the latest earlier
        one. None for a customer's first statement, and for a month billed after a later
        one (the summaries kept do not reach back: the evidence says so)."""
        for summary in (self.latest, self.before):
            if summary is not None and summary.period < period:
                return summary
        return None

    def reaches(self, period: Period) -> bool:
        """Whether ``previous_for`` can answer for ``period`` (False: a month older than
        every summary kept, billed late)."""
        return (
            self.latest is None
            or self.latest.period <= period
            or (self.before is not None and self.before.period < period)
        )

    def after(self, new: StatementSummary) -> StatementHistory | None:
        """The history once ``new`` is billed; None when nothing changes (a month older
        than the latest, billed late)."""
        latest = self.latest
        if latest is None or new.period > latest.period:
            return StatementHistory(new, latest, self.version + 1)
        if new.period == latest.period:  # billed again after a void
            return StatementHistory(new, self.before, self.version + 1)
        return None


@dataclass(frozen=True, slots=True)
class Evidence:
    """How a statement differs from the customer's previous one, and whether that holds
    it for review. Changes are None when there is no previous statement to compare."""

    previous: StatementSummary | None
    device_count: int
    devices_added: tuple[str, ...]
    devices_removed: tuple[str, ...]
    billed_minutes: Decimal
    total: Decimal
    currency: str
    previous_device_count: int = 0
    held: tuple[str, ...] = ()  # why it is held for review (empty: not held)
    note: str | None = None  # why there is nothing to compare with, when not obvious

    @property
    def device_count_change(self) -> int | None:
        return None if self.previous is None else self.device_count - self.previous_device_count

    @property
    def devices_changed(self) -> int:
        return len(self.devices_added) + len(self.devices_removed)

    @property
    def billed_minutes_change(self) -> Decimal | None:
        return None if self.previous is None else self.billed_minutes - self.previous.billed_minutes

    @property
    def comparable_total(self) -> bool:
        return self.previous is not None and self.previous.currency == self.currency

    @property
    def total_change(self) -> Decimal | None:
        return self.total - self.previous.total if self.comparable_total and self.previous else None

    @property
    def exact_change_percent(self) -> Decimal | None:
        """None with no previous total (or a zero one): thresholds compare this."""
        change = self.total_change
        if change is None or self.previous is None or self.previous.total == 0:
            return None
        return change * 100 / self.previous.total

    @property
    def total_change_percent(self) -> Decimal | None:
        """As shown: to two decimals, half up, without trailing zeros (50, 50.01)."""
        pct = self.exact_change_percent
        if pct is None:
            return None
        shown = pct.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()
        return shown.quantize(Decimal(1)) if shown == shown.to_integral_value() else shown

    def public(self, *, compact: bool = False) -> dict[str, Any]:
        """The evidence as `show --json` and the API give it (money as strings with the
        currency's digits). ``compact``: without the device id lists (list items)."""
        cur = Currency.of(self.currency)
        prev = self.previous
        out: dict[str, Any] = {
            "previous": None
            if prev is None
            else {
                "statementId": prev.statement_id,
                "number": prev.number,
                "period": str(prev.period),
                "currency": prev.currency,
                "deviceCount": self.previous_device_count,
                "billedMinutes": _minutes(prev.billed_minutes),
                "total": format_amount(prev.total, Currency.of(prev.currency)),
            },
            "deviceCount": self.device_count,
            "deviceCountChange": self.device_count_change,
            "devicesAddedCount": len(self.devices_added),
            "devicesRemovedCount": len(self.devices_removed),
            "billedMinutes": _minutes(self.billed_minutes),
            "billedMinutesChange": _minutes(self.billed_minutes_change),
            "total": format_amount(self.total, cur),
            "totalChange": None
            if self.total_change is None
            else format_amount(self.total_change, cur),
            "totalChangePercent": None
            if self.total_change_percent is None
            else f"{self.total_change_percent:f}",
            "held": list(self.held),
            "note": self.note,
        }
        if not compact:
            out["devicesAdded"] = list(self.devices_added)
            out["devicesRemoved"] = list(self.devices_removed)
        return out

    def lines(self) -> list[str]:
        """The evidence in words, one change a line (the CLI and the review queue)."""
        if self.previous is None:
            return [self.note or "no previous statement to compare with"]
        prev, cur = self.previous, Currency.of(self.currency)
        out = [f"compared with {prev.number} ({prev.period})"]
        dc = self.device_count_change or 0
        out.append(
            f"devices {self.previous_device_count} -> {self.device_count} ({dc:+d}): "
            f"{len(self.devices_added)} came, {len(self.devices_removed)} went"
        )
        bm = self.billed_minutes_change or Decimal(0)
        out.append(
            f"billed hours {_hours(prev.billed_minutes)} -> {_hours(self.billed_minutes)} "
            f"({'+' if bm >= 0 else '-'}{_hours(abs(bm))})"
        )
        if self.total_change is None:
            out.append(f"total {format_amount(self.total, cur)} {self.currency} "
                       f"(previous in {prev.currency}: not compared)")  # fmt: skip
        else:
            pct = self.total_change_percent
            out.append(
                f"total {format_amount(prev.total, cur)} -> {format_amount(self.total, cur)} "
                f"{self.currency} ({'+' if self.total_change >= 0 else ''}"
                f"{format_amount(self.total_change, cur)}"
                + (f", {'+' if pct >= 0 else ''}{pct}%" if pct is not None else "")
                + ")"
            )
        return out


def _minutes(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def _hours(minutes: Decimal) -> str:
    return f"{(minutes / 60).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)} h"


def evidence(
    *,
    currency: str,
    total: Decimal,
    inputs: StatementInputs,
    period: Period,
    history: StatementHistory | None,
    thresholds: ReviewThresholds | None,
) -> Evidence:
    """How the new statement differs from the previous one, and what holds it."""
    history = history or StatementHistory()
    prev = history.previous_for(period)
    devices = set(inputs.device_ids)
    before = set(prev.device_ids) if prev else set()
    ev = Evidence(
        previous=prev,
        device_count=len(devices),
        devices_added=tuple(sorted(devices - before)) if prev else (),
        devices_removed=tuple(sorted(before - devices)) if prev else (),
        billed_minutes=billed_minutes(inputs),
        total=total,
        currency=currency,
        previous_device_count=len(prev.device_ids) if prev else 0,
        note=None
        if prev or history.reaches(period)
        else "billed after a later month: no earlier statement summary kept to compare with",
    )
    return replace(ev, held=held_reasons(ev, thresholds))


def held_reasons(ev: Evidence, thresholds: ReviewThresholds | None) -> tuple[str, ...]:
    """docs/billing-rules.md "Review with evidence": past a threshold the organisation
    set, the statement is held. The total's change counts either way (up or down); the
    devices changed are those that came plus those that went. A first statement (nothing
    to compare) is never held by a threshold."""
    if thresholds is None or ev.previous is None:
        return ()
    reasons: list[str] = []
    limit = thresholds.total_change_percent
    if limit is not None:
        prev = ev.previous
        if prev.currency != ev.currency:
            reasons.append(f"currency changed from {prev.currency} to {ev.currency}")
        elif (pct := ev.exact_change_percent) is not None and abs(pct) > limit:
            way = "up" if pct > 0 else "down"
            shown = abs(ev.total_change_percent or Decimal(0))
            reasons.append(
                f"total {way} {shown:f}% on {prev.number} (threshold {limit.normalize():f}%)"
            )
        elif prev.total == 0 and ev.total != 0:
            reasons.append(f"total up from 0 on {prev.number} (threshold {limit.normalize():f}%)")
    count = thresholds.devices_changed_count
    if count is not None and ev.devices_changed > count:
        reasons.append(
            f"{ev.devices_changed} devices changed ({len(ev.devices_added)} came, "
            f"{len(ev.devices_removed)} went; threshold {count})"
        )
    return tuple(reasons)
