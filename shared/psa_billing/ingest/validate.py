"""Whole-document validation of a billing import.

``validate_document`` checks everything before anything is stored and, when the
import is refused, lists every problem at once (``ImportRejected.problems``), each
naming the record kind, its id, the field and the reason. Records that fail the
schema are left out of the cross-record checks, but their ids still count as
present, so one bad record does not cause a cascade of "unknown ..." problems.

What already exists for the organisation comes in through ``ExistingData``, a
small batch-friendly port the storage layer implements: every method takes the
set of ids the document mentions and answers in one call. ``validate_import`` takes
a factory of it instead, called with the document's organisation id once the JSON is
read, so that the document is parsed exactly once and the caller never parses it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from psa_billing.domain.currencies import MINOR_UNITS
from psa_billing.domain.errors import BillingError
from psa_billing.domain.fields import ID_PATTERN
from psa_billing.domain.model import (
    Contract,
    Customer,
    Device,
    Period,
    Project,
    Ticket,
    TimeEntry,
)
from psa_billing.domain.money import Currency
from psa_billing.domain.org import OrgSettingsUpdate
from psa_billing.domain.text import printable
from psa_billing.ingest.document import (
    RECORD_ARRAYS,
    TICKET_XOR_PROJECT,
    ContractRecord,
    CustomerRecord,
    DeviceRecord,
    ImportDocument,
    MalformedJsonError,
    ProjectRecord,
    TicketRecord,
    TimeEntryRecord,
    load_json,
)

# ---------------------------------------------------------------- problems


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an import (or, as a warning, worth knowing).

    ``kind`` is "document" or a record kind ("customer", "device", "ticket",
    "project", "contract", "timeEntry"); ``id`` the record's id when it has one,
    else ``index`` its position in its array; ``field`` the field path in the
    import's own names ("billing.taxPercent"), "" for the record as a whole.
    """

    kind: str
    id: str | None
    field: str
    reason: str
    index: int | None = None

    def __str__(self) -> str:
        who = self.kind
        if self.id is not None:
            who += f" {self.id}"
        elif self.index is not None:
            who += f" #{self.index}"
        return f"{who}: {self.field}: {self.reason}" if self.field else f"{who}: {self.reason}"


class ImportRejected(BillingError):
    """The import was refused as a whole; nothing of it may be stored."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
        super().__init__(f"import rejected, {count}:\n" + "\n".join(f"  {p}" for p in problems))


# ---------------------------------------------------------------- existing data


@dataclass(frozen=True, slots=True)
class ExistingEntry:
    """A stored time entry with the customer it was resolved to when stored."""

    entry: TimeEntry
    customer_id: str


class ExistingData(Protocol):
    """What is already stored for the import's organisation (the storage layer's port).

    Each method is called at most once per validation with every id the document
    needs, and answers only about ids that exist. Periods are written "YYYY-MM".
    """

    def customers(self, ids: Set[str]) -> Set[str]:
        """The subset of ``ids`` that are existing customers."""
        ...

    def tickets(self, ids: Set[str]) -> Mapping[str, str]:
        """Existing tickets among ``ids``: ticket id -> customer id."""
        ...

    def projects(self, ids: Set[str]) -> Mapping[str, str]:
        """Existing projects among ``ids``: project id -> customer id."""
        ...

    def contracts_of(self, customer_ids: Set[str]) -> Sequence[Contract]:
        """Every existing contract of these customers."""
        ...

    def time_entries(self, ids: Set[str]) -> Mapping[str, ExistingEntry]:
        """Existing time entries among ``ids``."""
        ...

    def billed_periods(self, pairs: Set[tuple[str, str]]) -> Mapping[tuple[str, str], str]:
        """Of these (customer id, period) pairs, those already billed -> statement id."""
        ...

    def currencies(self, customer_ids: Set[str]) -> Mapping[str, str]:
        """Billing currency of existing customers among ``customer_ids``."""
        ...


class EmptyExisting:
    """Nothing exists yet (a first import, or a dry run against an empty organisation)."""

    def customers(self, ids: Set[str]) -> Set[str]:
        return set()

    def tickets(self, ids: Set[str]) -> Mapping[str, str]:
        return {}

    def projects(self, ids: Set[str]) -> Mapping[str, str]:
        return {}

    def contracts_of(self, customer_ids: Set[str]) -> Sequence[Contract]:
        return []

    def time_entries(self, ids: Set[str]) -> Mapping[str, ExistingEntry]:
        return {}

    def billed_periods(self, pairs: Set[tuple[str, str]]) -> Mapping[tuple[str, str], str]:
        return {}

    def currencies(self, customer_ids: Set[str]) -> Mapping[str, str]:
        return {}


# ---------------------------------------------------------------- result


@dataclass(frozen=True, slots=True)
class ValidatedImport:
    """An accepted import as domain objects, ready to be upserted."""

    org_id: str
    org_name: str | None
    customers: list[Customer]
    devices: list[Device]
    tickets: list[Ticket]
    projects: list[Project]
    contracts: list[Contract]
    entries: list[TimeEntry]
    entry_customers: dict[str, str]
    """Time entry id -> customer id, through its ticket or project (document or existing)."""
    warnings: list[Problem] = field(default_factory=list)
    org_settings: OrgSettingsUpdate | None = None
    """The document's ``organisation`` object: settings to change, the rest kept
    (``org_settings.changes()`` for ``update_org_settings``)."""


# ---------------------------------------------------------------- reading


_R = TypeVar(
    "_R",
    CustomerRecord,
    DeviceRecord,
    TicketRecord,
    ProjectRecord,
    ContractRecord,
    TimeEntryRecord,
)


@dataclass
class _Read:
    """The records that passed the schema, and the ids of those that did not."""

    org_id: str = ""
    org_name: str | None = None
    org_settings: OrgSettingsUpdate | None = None
    customers: list[CustomerRecord] = field(default_factory=list)
    devices: list[DeviceRecord] = field(default_factory=list)
    tickets: list[TicketRecord] = field(default_factory=list)
    projects: list[ProjectRecord] = field(default_factory=list)
    contracts: list[ContractRecord] = field(default_factory=list)
    entries: list[TimeEntryRecord] = field(default_factory=list)
    failed_ids: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def _raw_id(data: Any, key: str, index: int) -> str | None:
    """A record's id as written, when it is a well-formed id: a malformed one (control
    characters, 5,000 characters) is never echoed; the record is named by its index."""
    items = data.get(key) if isinstance(data, dict) else None
    if isinstance(items, list) and 0 <= index < len(items):
        item = items[index]
        if (
            isinstance(item, dict)
            and isinstance(item.get("id"), str)
            and ID_PATTERN.fullmatch(item["id"])
        ):
            return str(item["id"])
    return None


def _field_path(loc: Iterable[int | str]) -> str:
    # Unknown keys are the document's own text: shown escaped and cut short.
    path = ""
    for part in loc:
        name = printable(part, 40) if isinstance(part, str) else part
        path += f"[{part}]" if isinstance(part, int) else (f".{name}" if path else str(name))
    return path


_REASONS = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field (not in the import format)",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "list_type": "must be a JSON array",
}


def _schema_problem(err: ErrorDetails, data: Any) -> Problem:
    loc = err["loc"]
    kind, record_id, index, rest = "document", None, None, loc
    if len(loc) >= 2 and loc[0] in RECORD_ARRAYS and isinstance(loc[1], int):
        kind = RECORD_ARRAYS[str(loc[0])][0]
        index = loc[1]
        record_id = _raw_id(data, str(loc[0]), index)
        rest = loc[2:]
    elif len(loc) >= 2 and loc[0] == "organisation":
        kind, record_id, rest = "organisation", _org_id(data), loc[1:]
    path = "ticketId/projectId" if err["type"] == TICKET_XOR_PROJECT else _field_path(rest)
    reason = _REASONS.get(err["type"], err["msg"])
    if kind == "document" and not path and err["type"] == "model_type":
        reason = "the import must be a JSON object"
    return Problem(kind, record_id, path, reason, None if record_id is not None else index)


def _salvage(data: Any, key: str, model: type[_R], bad: set[int], read: _Read) -> list[_R]:
    """The records of one array that pass the schema; the ids of the others go to
    ``read.failed_ids`` so that references to them are not reported as unknown."""
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    good: list[_R] = []
    for index, item in enumerate(items):
        if index not in bad:
            try:
                good.append(model.model_validate(item))
                continue
            except ValidationError:
                pass
        record_id = _raw_id(data, key, index)
        if record_id is not None:
            read.failed_ids[RECORD_ARRAYS[key][0]].add(record_id)
    return good


def _read(data: Any) -> tuple[_Read, list[Problem]]:
    try:
        doc = ImportDocument.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    else:
        read = _Read(
            org_id=doc.org_id,
            org_name=doc.org_name,
            org_settings=doc.organisation,
            customers=doc.customers,
            devices=doc.devices,
            tickets=doc.tickets,
            projects=doc.projects,
            contracts=doc.contracts,
            entries=doc.time_entries,
        )
        return read, []
    # Schema problems: keep the records that are fine so that the cross-record checks
    # still run on them and the caller hears about every problem at once.
    problems = [_schema_problem(err, data) for err in errors]
    bad: defaultdict[str, set[int]] = defaultdict(set)
    for err in errors:
        loc = err["loc"]
        if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
            bad[loc[0]].add(loc[1])
    read = _Read()
    read.customers = _salvage(data, "customers", CustomerRecord, bad["customers"], read)
    read.devices = _salvage(data, "devices", DeviceRecord, bad["devices"], read)
    read.tickets = _salvage(data, "tickets", TicketRecord, bad["tickets"], read)
    read.projects = _salvage(data, "projects", ProjectRecord, bad["projects"], read)
    read.contracts = _salvage(data, "contracts", ContractRecord, bad["contracts"], read)
    read.entries = _salvage(data, "timeEntries", TimeEntryRecord, bad["timeEntries"], read)
    return read, problems


def _check_org_name(read: _Read, problems: list[Problem]) -> None:
    # Two names for one organisation in one document: neither is guessed to win.
    settings = read.org_settings
    if settings is None or settings.name is None or read.org_name is None:
        return
    if settings.name != read.org_name:
        reason = "differs from orgName; give the name once"
        problems.append(Problem("organisation", read.org_id, "name", reason))


def _duplicate_ids(data: Any) -> list[Problem]:
    problems: list[Problem] = []
    for key, (kind, _model) in RECORD_ARRAYS.items():
        first_at: dict[str, int] = {}
        items = data.get(key) if isinstance(data, dict) else None
        for index in range(len(items) if isinstance(items, list) else 0):
            record_id = _raw_id(data, key, index)
            if record_id is None:
                continue
            if record_id in first_at:
                reason = f"duplicate {kind} id (first at {key}[{first_at[record_id]}])"
                problems.append(Problem(kind, record_id, "id", reason))
            else:
                first_at[record_id] = index
    return problems


# ---------------------------------------------------------------- cross-record checks


def _day_range(contract: Contract) -> str:
    end = contract.end_date.isoformat() if contract.end_date else "open-ended"
    return f"{contract.start_date.isoformat()}..{end}"


def _overlap(a: Contract, b: Contract) -> bool:
    a_end = a.end_date or dt.date.max
    b_end = b.end_date or dt.date.max
    return a.start_date <= b_end and b.start_date <= a_end


def _contract_overlaps(
    contracts: list[Contract], existing: ExistingData, problems: list[Problem]
) -> None:
    # docs/billing-rules.md "Inputs": at most one contract of a customer may be active on
    # any day. Checked on what will be stored: existing contracts with the
    # document's records replacing those of the same id.
    customer_ids = {c.customer_id for c in contracts}
    if not customer_ids:
        return
    merged = {c.id: c for c in existing.contracts_of(customer_ids)}
    merged.update({c.id: c for c in contracts})
    in_document = {c.id for c in contracts}
    by_customer: dict[str, list[Contract]] = defaultdict(list)
    for contract in merged.values():
        if contract.customer_id in customer_ids:
            by_customer[contract.customer_id].append(contract)
    for customer_id, own in by_customer.items():
        own.sort(key=lambda c: (c.start_date, c.id))
        for i, first in enumerate(own):
            for second in own[i + 1 :]:
                if not _overlap(first, second):
                    continue
                if second.id in in_document:
                    subject, other, path = second, first, "startDate"
                elif first.id in in_document:
                    subject, other, path = first, second, "endDate"
                else:
                    continue  # both already stored: not this import's doing
                where = "in this import" if other.id in in_document else "already stored"
                problems.append(
                    Problem(
                        "contract",
                        subject.id,
                        path,
                        f"{_day_range(subject)} overlaps contract '{other.id}' "
                        f"({_day_range(other)}, {where}) of customer '{customer_id}'; "
                        "at most one contract of a customer may be active on any day",
                    )
                )


_BILLED_FIELDS = (
    ("date", "date"),
    ("minutes", "minutes"),
    ("billable", "billable"),
    ("ticket_id", "ticketId"),
    ("project_id", "projectId"),
)


_Referrer = DeviceRecord | TicketRecord | ProjectRecord | ContractRecord


def _check_customer_refs(read: _Read, existing: ExistingData, problems: list[Problem]) -> None:
    known = {c.id for c in read.customers} | read.failed_ids["customer"]
    referrers: list[tuple[str, _Referrer]] = [
        *(("device", r) for r in read.devices),
        *(("ticket", r) for r in read.tickets),
        *(("project", r) for r in read.projects),
        *(("contract", r) for r in read.contracts),
    ]
    wanted = {r.customer_id for _, r in referrers} - known
    known |= existing.customers(wanted) if wanted else set()
    for kind, record in referrers:
        if record.customer_id not in known:
            reason = f"unknown customer '{record.customer_id}'"
            problems.append(Problem(kind, record.id, "customerId", reason))


def _check_devices(read: _Read, problems: list[Problem]) -> None:
    for device in read.devices:
        if device.unlinked_on is not None and device.unlinked_on < device.linked_on:
            reason = f"{device.unlinked_on} is before linkedOn {device.linked_on}"
            problems.append(Problem("device", device.id, "unlinkedOn", reason))


def _owners(
    read: _Read, existing: ExistingData, problems: list[Problem]
) -> tuple[dict[str, str], dict[str, str]]:
    """Ticket -> customer and project -> customer for every ticket and project the
    document names or refers to, refusing a change of customer."""
    ticket_ids = {t.id for t in read.tickets} | {e.ticket_id for e in read.entries if e.ticket_id}
    project_ids = {p.id for p in read.projects}
    project_ids |= {e.project_id for e in read.entries if e.project_id}
    tickets = dict(existing.tickets(ticket_ids)) if ticket_ids else {}
    projects = dict(existing.projects(project_ids)) if project_ids else {}
    # A ticket or project keeps its customer: its time entries (some perhaps billed
    # already) belong to that customer.
    records: list[tuple[str, TicketRecord | ProjectRecord, dict[str, str]]] = [
        *(("ticket", t, tickets) for t in read.tickets),
        *(("project", p, projects) for p in read.projects),
    ]
    for kind, rec, owners in records:
        before = owners.get(rec.id)
        if before is not None and before != rec.customer_id:
            reason = (
                f"{kind} belongs to customer '{before}'; moving it to '{rec.customer_id}' "
                "would strand its time entries"
            )
            problems.append(Problem(kind, rec.id, "customerId", reason))
    tickets.update({t.id: t.customer_id for t in read.tickets})
    projects.update({p.id: p.customer_id for p in read.projects})
    return tickets, projects


def _check_contracts(
    read: _Read, existing: ExistingData, problems: list[Problem]
) -> list[Contract]:
    sound: list[Contract] = []
    for rec in read.contracts:
        if rec.end_date is not None and rec.end_date < rec.start_date:
            reason = f"{rec.end_date} is before startDate {rec.start_date}"
            problems.append(Problem("contract", rec.id, "endDate", reason))
        else:
            sound.append(rec.to_domain())
    _contract_overlaps(sound, existing, problems)
    return sound


def _entry_customers(
    read: _Read,
    tickets: Mapping[str, str],
    projects: Mapping[str, str],
    problems: list[Problem],
) -> dict[str, str]:
    """Time entry id -> customer id, through the entry's (known) ticket or project."""
    customers: dict[str, str] = {}
    for rec in read.entries:
        if rec.ticket_id is not None:
            kind, ref, owners = "ticket", rec.ticket_id, tickets
        else:
            kind, ref, owners = "project", rec.project_id or "", projects
        if ref in owners:
            customers[rec.id] = owners[ref]
        elif ref not in read.failed_ids[kind]:
            problems.append(Problem("timeEntry", rec.id, f"{kind}Id", f"unknown {kind} '{ref}'"))
    return customers


def _pair(customer_id: str, day: dt.date) -> tuple[str, str]:
    return customer_id, str(Period.containing(day))


def _check_billed_entries(
    read: _Read,
    entry_customers: Mapping[str, str],
    existing: ExistingData,
    problems: list[Problem],
    warnings: list[Problem],
) -> None:
    # docs/billing-rules.md "Once billed, billed once": what a statement was computed
    # from may not change under it; new work in a billed period is only a warning.
    entry_ids = {e.id for e in read.entries}
    stored = dict(existing.time_entries(entry_ids)) if entry_ids else {}
    pairs = {_pair(entry_customers[e.id], e.date) for e in read.entries if e.id in entry_customers}
    pairs |= {_pair(s.customer_id, s.entry.date) for s in stored.values()}
    billed = dict(existing.billed_periods(pairs)) if pairs else {}
    for rec in read.entries:
        old = stored.get(rec.id)
        old_pair = _pair(old.customer_id, old.entry.date) if old else None
        if old is not None and old_pair in billed:
            statement_id = billed[old_pair]
            for attr, name in _BILLED_FIELDS:
                if getattr(old.entry, attr) != getattr(rec, attr):
                    reason = (
                        f"already billed on statement {statement_id}; adjust the statement instead"
                    )
                    problems.append(Problem("timeEntry", rec.id, name, reason))
            continue
        customer_id = entry_customers.get(rec.id)
        new_pair = _pair(customer_id, rec.date) if customer_id else None
        if new_pair is not None and new_pair != old_pair and new_pair in billed:
            period, statement_id = new_pair[1], billed[new_pair]
            reason = (
                f"{period} is already billed for customer '{customer_id}' on statement "
                f"{statement_id}; it is late time: `statements adjust {statement_id} "
                "--late-time` bills it"
            )
            warnings.append(Problem("timeEntry", rec.id, "date", reason))


def _check_rate_digits(read: _Read, existing: ExistingData, problems: list[Problem]) -> None:
    """Rates are money in the customer's currency: no more digits than it has, so every
    unit price leaves the system exactly as it was entered (docs/billing-rules.md "Money")."""
    currency = {c.id: c.billing.currency for c in read.customers}
    wanted = {p.customer_id for p in read.projects} | {k.customer_id for k in read.contracts}
    wanted -= set(currency)
    if wanted:
        currency.update(existing.currencies(wanted))

    def check(kind: str, rec_id: str, field_name: str, value: Decimal | None, code: str) -> None:
        if value is None or code not in MINOR_UNITS:
            return
        cur = Currency.of(code)
        if not cur.has_exact_digits(value):
            reason = f"{value} has more decimal places than {code} allows ({cur.exponent})"
            problems.append(Problem(kind, rec_id, field_name, reason))

    for c in read.customers:
        b = c.billing
        check("customer", c.id, "billing.perDeviceRate", b.per_device_rate, b.currency)
        check("customer", c.id, "billing.defaultHourlyRate", b.default_hourly_rate, b.currency)
    for p in read.projects:
        check("project", p.id, "hourlyRate", p.hourly_rate, currency.get(p.customer_id, ""))
    for k in read.contracts:
        code = currency.get(k.customer_id, "")
        check("contract", k.id, "overageHourlyRate", k.overage_hourly_rate, code)


def _org_id(data: Any) -> str | None:
    org_id = data.get("orgId") if isinstance(data, dict) else None
    return org_id if isinstance(org_id, str) and ID_PATTERN.fullmatch(org_id) else None


def validate_import(
    raw: bytes | str, existing_for: Callable[[str], ExistingData]
) -> ValidatedImport:
    """Check a whole import against the format, itself and what already exists.

    The JSON is parsed once (bounded: ``psa_billing.ingest.document.load_json``);
    ``existing_for(org_id)`` is then asked for the organisation's stored data (an
    organisation with no valid ``orgId`` is checked against nothing stored, and the
    missing id is one of the problems). Raises ``ImportRejected`` listing every
    problem; otherwise returns the import as domain objects, with non-fatal
    ``warnings``.
    """
    return validate_parsed(parse_document(raw), existing_for)


def parse_document(raw: bytes | str) -> Any:
    """The document's JSON, parsed once and bounded; ``ImportRejected`` when it is not
    JSON, nests too deep or holds an integer too long."""
    try:
        return load_json(raw)
    except MalformedJsonError as exc:
        raise ImportRejected([Problem("document", None, "", str(exc))]) from exc


def document_org_id(data: Any) -> str | None:
    """The parsed document's organisation id, when it has a valid one."""
    return _org_id(data)


def validate_parsed(data: Any, existing_for: Callable[[str], ExistingData]) -> ValidatedImport:
    """``validate_import`` of a document already parsed by ``parse_document``."""
    org_id = _org_id(data)
    existing = existing_for(org_id) if org_id is not None else EmptyExisting()
    return _validate(data, existing)


def validate_document(raw: bytes | str, existing: ExistingData) -> ValidatedImport:
    """``validate_import`` against ``existing``, whatever the document's organisation."""
    return validate_import(raw, lambda _org_id: existing)


def _validate(data: Any, existing: ExistingData) -> ValidatedImport:
    read, problems = _read(data)
    _check_org_name(read, problems)
    problems += _duplicate_ids(data)
    warnings: list[Problem] = []
    _check_customer_refs(read, existing, problems)
    _check_devices(read, problems)
    _check_rate_digits(read, existing, problems)
    tickets, projects = _owners(read, existing, problems)
    contracts = _check_contracts(read, existing, problems)
    entry_customers = _entry_customers(read, tickets, projects, problems)
    _check_billed_entries(read, entry_customers, existing, problems, warnings)
    if problems:
        order = ["document", "organisation", *(kind for kind, _model in RECORD_ARRAYS.values())]
        raise ImportRejected(sorted(problems, key=lambda p: order.index(p.kind)))
    return ValidatedImport(
        org_id=read.org_id,
        org_name=read.org_name,
        customers=[r.to_domain() for r in read.customers],
        devices=[r.to_domain() for r in read.devices],
        tickets=[r.to_domain() for r in read.tickets],
        projects=[r.to_domain() for r in read.projects],
        contracts=contracts,
        entries=[r.to_domain() for r in read.entries],
        entry_customers=entry_customers,
        warnings=warnings,
        org_settings=read.org_settings,
    )
