"""Late time (docs/billing-rules.md "Once billed, billed once" and "Adjustments").

A billable entry dated in a (customer, period) that already has a statement, and that
this statement does not bill yet, is *late*: a re-run does not bill it, the run reports
it, and a late-time adjustment of the statement bills it, once. Its lines are computed
by the rules engine itself (``compute_statement``), with two differences that follow
from the rules:

* a contract's included minutes are those the statement's contract had *left*: the
  minutes its own entries and earlier late-time entries covered are used already;
* the rates are the ones the statement was billed at (its recorded settings), so a
  statement is in one currency and its late lines agree with its other lines.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from psa_billing.domain.adjustments import AdjustmentKind
from psa_billing.domain.model import CustomerPeriodData, Line, LineKind, TimeEntry
from psa_billing.domain.rules import compute_statement, hours_for_display
from psa_billing.domain.statement import Statement

_ZERO = Decimal(0)
_HOURS = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class LateTime:
    """The late entries a statement does not bill yet, in (date, entry id) order, and
    the lines a late-time adjustment would append for them."""

    entries: tuple[TimeEntry, ...] = ()
    lines: tuple[Line, ...] = ()

    @property
    def minutes(self) -> int:
        return sum(e.minutes for e in self.entries)

    @property
    def entry_ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.entries)

    def public(self) -> dict[str, Any]:
        """As `statements show --json` and the API list them: waiting, not yet billed."""
        return {
            "count": len(self.entries),
            "minutes": self.minutes,
            "hours": f"{hours_for_display(Decimal(self.minutes)):f}",
            "entries": [
                {
                    "id": e.id,
                    "date": e.date.isoformat(),
                    "minutes": e.minutes,
                    "ticketId": e.ticket_id,
                    "projectId": e.project_id,
                    "description": e.description,
                    "userId": e.user_id,
                }
                for e in self.entries
            ],
        }


def billed_entry_ids(st: Statement) -> frozenset[str]:
    """Every time entry the statement bills: those it was computed from and those its
    late-time adjustments added. Needs the statement's recorded inputs."""
    if st.inputs is None:
        raise ValueError(f"statement {st.id} was read without its inputs")
    late = (e for a in st.adjustments if a.kind is AdjustmentKind.LATE_TIME for e in a.entry_ids)
    return frozenset((*(u.entry_id for u in st.inputs.entries), *late))


def contract_minutes_used(st: Statement) -> dict[str, Decimal]:
    """Included minutes of each contract the statement has used already: covered by its
    own entries (recorded inputs) and by earlier late-time lines (their included-hours
    lines carry the covered minutes and the contract's id)."""
    if st.inputs is None:
        raise ValueError(f"statement {st.id} was read without its inputs")
    used: dict[str, Decimal] = {}
    for u in st.inputs.entries:
        if u.contract_id is not None and u.covered_minutes:
            used[u.contract_id] = used.get(u.contract_id, _ZERO) + u.covered_minutes
    for a in st.adjustments:
        if a.kind is not AdjustmentKind.LATE_TIME:
            continue
        for line in a.lines:
            if line.kind is LineKind.INCLUDED_HOURS and line.ref and line.minutes:
                used[line.ref] = used.get(line.ref, _ZERO) + line.minutes
    return used


def late_time(data: CustomerPeriodData, st: Statement) -> LateTime:
    """The statement's late entries still waiting, and their lines by the rules.

    ``data`` is the customer's records for the statement's period as they are now. A
    void statement has none: its entries were released to the next run."""
    if st.is_void:
        return LateTime()
    billed = billed_entry_ids(st)
    candidates = tuple(e for e in data.entries if e.id not in billed)
    if not candidates:
        return LateTime()
    assert st.inputs is not None  # billed_entry_ids checked it
    used = contract_minutes_used(st)
    late_data = replace(
        data,
        customer=replace(data.customer, billing=st.inputs.settings),
        devices=(),  # devices are billed on the statement itself, never as late time
        entries=candidates,
    )
    draft = compute_statement(late_data, st.period, used_minutes=used)
    if draft is None:
        return LateTime()
    accounted = {u.entry_id for u in draft.inputs.entries}
    entries = tuple(
        sorted((e for e in candidates if e.id in accounted), key=lambda e: (e.date, e.id))
    )
    contracts = {c.id: c for c in data.contracts}
    lines = tuple(_late_line(ln, contracts, used) for ln in draft.lines)
    return LateTime(entries, lines)


def _late_line(line: Line, contracts: dict[str, Any], used: dict[str, Decimal]) -> Line:
    """An included-hours line says how much more of the allowance the late entries used,
    and how much is used in all (the rules engine's wording counts only these entries)."""
    if line.kind is not LineKind.INCLUDED_HOURS or line.ref not in contracts:
        return line
    contract = contracts[line.ref]
    now = hours_for_display((line.minutes or _ZERO) + used.get(contract.id, _ZERO))
    included = contract.included_hours.quantize(_HOURS, ROUND_HALF_UP)
    return replace(
        line,
        description=(
            f"{contract.name}: {line.quantity:f} more included hours used (late time), "
            f"{now:f} of {included:f} in all"
        ),
    )
