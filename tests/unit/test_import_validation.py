"""The import is checked as a whole and refused with every problem listed."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence, Set
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from psa_billing.domain.errors import BillingError
from psa_billing.domain.model import Contract, CustomerProfile, Period, TimeEntry
from psa_billing.domain.org import OrgSettingsUpdate
from psa_billing.ingest.document import (
    RECORD_ARRAYS,
    BillingRecord,
    CustomerRecord,
    ImportDocument,
    MalformedJsonError,
    parse_document,
)
from psa_billing.ingest.validate import (
    EmptyExisting,
    ExistingData,
    ExistingEntry,
    ImportRejected,
    Problem,
    ValidatedImport,
    validate_document,
    validate_import,
)
from tests.fakes import InMemoryExisting


def customer(cid: str = "cust-1", **billing: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "name": "Acme Dental Ltd",
        "billing": {
            "perDeviceRate": "5.00",
            "defaultHourlyRate": "85.00",
            "taxPercent": "20",
            "currency": "GBP",
            "autoSend": True,
            "billingEmail": "ap@acme.example",
            **billing,
        },
    }


def contract(cid: str, start: str, end: str | None = None, customer_id: str = "cust-1") -> dict:
    record = {
        "id": cid,
        "customerId": customer_id,
        "name": "Support",
        "includedHours": "4",
        "startDate": start,
    }
    if end is not None:
        record["endDate"] = end
    return record


def entry(eid: str = "te-1", **fields: Any) -> dict[str, Any]:
    record = {"id": eid, "ticketId": "tkt-1", "date": "2025-03-10", "minutes": 30, "billable": True}
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}


def document(**arrays: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "orgId": "org-1",
        "orgName": "Demo MSP",
        "customers": [customer()],
        "devices": [{"id": "dev-1", "customerId": "cust-1", "linkedOn": "2024-01-15"}],
        "tickets": [{"id": "tkt-1", "customerId": "cust-1", "subject": "Printer offline"}],
        "projects": [
            {
                "id": "prj-1",
                "customerId": "cust-1",
                "code": "M365",
                "name": "M365",
                "billable": True,
            }
        ],
        "contracts": [contract("con-1", "2025-01-01")],
        "timeEntries": [entry()],
    }
    doc.update(arrays)
    return doc


def accept(doc: dict[str, Any] | str, existing: ExistingData | None = None) -> ValidatedImport:
    raw = doc if isinstance(doc, str) else json.dumps(doc)
    return validate_document(raw, existing or EmptyExisting())


def problems_of(doc: dict[str, Any] | str, existing: ExistingData | None = None) -> list[Problem]:
    with pytest.raises(ImportRejected) as caught:
        accept(doc, existing)
    return caught.value.problems


def only_problem(doc: dict[str, Any] | str, existing: ExistingData | None = None) -> Problem:
    problems = problems_of(doc, existing)
    assert len(problems) == 1, problems
    return problems[0]


# ---------------------------------------------------------------- accepted imports


def test_valid_document_becomes_domain_objects_with_entry_customers() -> None:
    result = accept(document())

    assert result.org_id == "org-1"
    assert result.org_name == "Demo MSP"
    assert result.customers[0].billing.per_device_rate == Decimal("5.00")
    assert result.customers[0].billing.tax_percent == Decimal(20)
    assert result.devices[0].linked_on == date(2025 - 1, 1, 15)
    assert result.contracts[0].end_date is None
    assert result.entries[0].ticket_id == "tkt-1"
    assert result.entry_customers == {"te-1": "cust-1"}
    assert result.warnings == []


def test_document_with_only_an_org_id_is_accepted() -> None:
    result = accept({"orgId": "org-1"})

    assert (result.customers, result.entries) == ([], [])


def test_rates_in_the_currencys_own_digits_are_accepted() -> None:
    doc = document(
        customers=[customer(currency="BHD", perDeviceRate="9.505", defaultHourlyRate="12.25")]
    )

    settings = accept(doc).customers[0].billing

    assert settings.per_device_rate == Decimal("9.505")
    assert settings.default_hourly_rate == Decimal("12.25")


def test_tax_percent_at_the_bounds_is_accepted() -> None:
    for tax in ("0", "100", "8.875", 0, 100, "NUMBER"):
        raw = json.dumps(document(customers=[customer(taxPercent=tax)]))
        raw = raw.replace('"NUMBER"', "7.5")
        expected = Decimal("7.5") if tax == "NUMBER" else Decimal(tax)
        assert accept(raw).customers[0].billing.tax_percent == expected


def test_customer_known_from_existing_data_may_be_referenced() -> None:
    existing = InMemoryExisting(customer_ids={"cust-9"})
    doc = document(
        customers=[],
        devices=[{"id": "dev-1", "customerId": "cust-9", "linkedOn": "2024-01-15"}],
        tickets=[{"id": "tkt-1", "customerId": "cust-9", "subject": "Printer"}],
        projects=[],
        contracts=[],
    )

    assert accept(doc, existing).entry_customers == {"te-1": "cust-9"}


def test_entry_on_existing_ticket_gets_that_tickets_customer() -> None:
    existing = InMemoryExisting(customer_ids={"cust-9"}, ticket_customers={"tkt-9": "cust-9"})
    doc = document(timeEntries=[entry(ticketId="tkt-9")])

    assert accept(doc, existing).entry_customers == {"te-1": "cust-9"}


def test_entry_on_a_project_gets_the_projects_customer() -> None:
    doc = document(timeEntries=[entry(ticketId=None, projectId="prj-1")])

    result = accept(doc)

    assert result.entries[0].project_id == "prj-1"
    assert result.entry_customers == {"te-1": "cust-1"}


# ---------------------------------------------------------------- JSON and schema


def test_invalid_json_is_one_document_problem_with_line_and_column() -> None:
    problem = only_problem('{\n  "orgId": "org-1",\n  "customers": [\n}')

    assert (problem.kind, problem.id, problem.field) == ("document", None, "")
    assert "line 4, column 1" in problem.reason
    assert str(problem).startswith("document: invalid JSON at line 4, column 1")


def test_duplicate_json_keys_are_rejected() -> None:
    problem = only_problem('{"orgId": "org-1", "orgId": "org-2"}')

    assert "duplicate key 'orgId'" in problem.reason


def test_nan_is_not_a_json_number() -> None:
    raw = json.dumps(document(customers=[customer(perDeviceRate="NAN_HERE")]))

    problem = only_problem(raw.replace('"NAN_HERE"', "NaN"))

    assert problem.kind == "document"


def test_document_that_is_not_an_object_is_rejected() -> None:
    problem = only_problem("[1, 2]")

    assert str(problem) == "document: the import must be a JSON object"


def test_unknown_currency_is_rejected_naming_customer_and_field() -> None:
    problem = only_problem(document(customers=[customer(currency="XYZ")]))

    assert problem == Problem(
        "customer", "cust-1", "billing.currency", "unknown ISO 4217 currency code 'XYZ'"
    )
    assert str(problem) == (
        "customer cust-1: billing.currency: unknown ISO 4217 currency code 'XYZ'"
    )


def test_lower_case_currency_is_rejected() -> None:
    problem = only_problem(document(customers=[customer(currency="gbp")]))

    assert (problem.id, problem.field) == ("cust-1", "billing.currency")


def test_tax_outside_0_to_100_is_rejected() -> None:
    for tax in ("100.5", "150", 101, -1):
        problem = only_problem(document(customers=[customer(taxPercent=tax)]))
        assert (problem.kind, problem.id, problem.field) == (
            "customer",
            "cust-1",
            "billing.taxPercent",
        )


def test_tax_with_more_than_four_decimals_is_rejected() -> None:
    raw = json.dumps(document(customers=[customer(taxPercent="TAX")])).replace('"TAX"', "7.12345")

    problem = only_problem(raw)

    assert problem.field == "billing.taxPercent"
    assert "4 decimals" in problem.reason


def test_malformed_money_string_is_rejected() -> None:
    for bad in ("12,50", "-5", "1e3", " 5", "5.1234567", "1234567890123", ""):
        problem = only_problem(document(customers=[customer(perDeviceRate=bad)]))
        assert (problem.id, problem.field) == ("cust-1", "billing.perDeviceRate"), bad


def test_negative_money_number_is_rejected() -> None:
    problem = only_problem(document(customers=[customer(defaultHourlyRate=-1)]))

    assert problem.field == "billing.defaultHourlyRate"
    assert "negative" in problem.reason


def test_json_number_money_is_read_without_float_rounding() -> None:
    doc = json.dumps(document(customers=[customer(perDeviceRate="A", defaultHourlyRate="B")]))
    raw = doc.replace('"A"', "0.1").replace('"B"', "999999999999.99")

    settings = accept(raw).customers[0].billing

    assert settings.per_device_rate == Decimal("0.1")
    assert str(settings.per_device_rate) == "0.1"
    assert settings.default_hourly_rate == Decimal("999999999999.99")
    assert Decimal(float("999999999999.99")) != Decimal("999999999999.99")  # what a float would do


def test_parse_document_reads_money_as_exact_decimals() -> None:
    raw = json.dumps(document()).replace('"includedHours": "4"', '"includedHours": 2.675')

    doc = parse_document(raw)

    assert doc.contracts[0].included_hours == Decimal("2.675")


def test_money_given_as_a_python_float_is_refused() -> None:
    data = json.loads(json.dumps(document(customers=[customer(perDeviceRate=0.1)])))

    with pytest.raises(ValidationError, match="float"):
        ImportDocument.model_validate(data)


def test_parse_document_raises_malformed_json_error() -> None:
    with pytest.raises(MalformedJsonError) as caught:
        parse_document('{"orgId": ')

    assert caught.value.line == 1


def test_schema_error_is_located_by_record_id_and_field() -> None:
    doc = document(devices=[{"id": "dev-7", "customerId": "cust-1", "linkedOn": "2024-02-30"}])

    problem = only_problem(doc)

    assert (problem.kind, problem.id, problem.field) == ("device", "dev-7", "linkedOn")
    assert "not a real calendar date" in problem.reason


def test_record_without_an_id_is_located_by_its_index() -> None:
    doc = document(tickets=[document()["tickets"][0], {"customerId": "cust-1", "subject": "x"}])

    problem = only_problem(doc)

    assert (problem.kind, problem.id, problem.index, problem.field) == ("ticket", None, 1, "id")
    assert str(problem) == "ticket #1: id: required field is missing"


def test_malformed_id_is_rejected() -> None:
    for bad in ("-leading-dash", "has space", "x" * 65, "", "ünïcode"):
        doc = document(devices=[{"id": bad, "customerId": "cust-1", "linkedOn": "2024-01-15"}])
        problem = only_problem(doc)
        assert (problem.kind, problem.field) == ("device", "id"), bad


def test_unknown_field_is_rejected() -> None:
    doc = document(customers=[customer(vatNumber="GB123")])

    problem = only_problem(doc)

    assert (problem.field, problem.reason) == (
        "billing.vatNumber",
        "unknown field (not in the import format)",
    )


def test_unknown_top_level_field_is_a_document_problem() -> None:
    problem = only_problem({"orgId": "org-1", "invoices": []})

    assert (problem.kind, problem.field) == ("document", "invoices")


def test_null_for_an_optional_field_is_rejected() -> None:
    doc = document(
        devices=[
            {"id": "dev-1", "customerId": "cust-1", "linkedOn": "2024-01-15", "unlinkedOn": None}
        ]
    )

    problem = only_problem(doc)

    assert (problem.id, problem.field) == ("dev-1", "unlinkedOn")


def test_dates_must_be_written_yyyy_mm_dd() -> None:
    for bad in ("2025-3-10", "10/03/2025", "2025-03-10T09:00:00", 20250310):
        problem = only_problem(document(timeEntries=[entry(date=bad)]))
        assert (problem.id, problem.field) == ("te-1", "date"), bad


def test_booleans_are_not_coerced_from_strings_or_numbers() -> None:
    for bad in ("true", 1, "yes"):
        problem = only_problem(document(timeEntries=[entry(billable=bad)]))
        assert problem.field == "billable", bad


def test_minutes_must_be_a_whole_number_from_1_to_1440() -> None:
    for bad in (0, 1441, "30", 30.5, True):
        problem = only_problem(document(timeEntries=[entry(minutes=bad)]))
        assert (problem.id, problem.field) == ("te-1", "minutes"), bad
    assert accept(document(timeEntries=[entry(minutes=1440)])).entries[0].minutes == 1440


def test_string_longer_than_the_schema_allows_is_rejected() -> None:
    doc = document(tickets=[{"id": "tkt-1", "customerId": "cust-1", "subject": "x" * 301}])

    problem = only_problem(doc)

    assert (problem.id, problem.field) == ("tkt-1", "subject")


def test_billing_email_must_be_an_email_address() -> None:
    for bad in ("accounts", "ap@", "@acme.example", "ap@@acme.example"):
        problem = only_problem(document(customers=[customer(billingEmail=bad)]))
        assert problem.field == "billing.billingEmail", bad


def test_entry_with_both_ticket_and_project_is_rejected() -> None:
    problem = only_problem(document(timeEntries=[entry(projectId="prj-1")]))

    assert (problem.kind, problem.id, problem.field) == ("timeEntry", "te-1", "ticketId/projectId")
    assert "both" in problem.reason


def test_entry_with_neither_ticket_nor_project_is_rejected() -> None:
    problem = only_problem(document(timeEntries=[entry(ticketId=None)]))

    assert (problem.id, problem.field) == ("te-1", "ticketId/projectId")


def test_entry_with_both_ids_and_a_bad_field_reports_both() -> None:
    problems = problems_of(document(timeEntries=[entry(projectId="prj-1", minutes=0)]))

    assert {p.field for p in problems} == {"minutes", "ticketId/projectId"}


# ---------------------------------------------------------------- cross-record rules


def test_duplicate_ids_within_a_kind_are_rejected() -> None:
    doc = document(customers=[customer(), customer()])

    problem = only_problem(doc)

    assert (problem.kind, problem.id, problem.field) == ("customer", "cust-1", "id")
    assert "customers[0]" in problem.reason


def test_the_same_id_in_two_kinds_is_fine() -> None:
    doc = document(
        devices=[{"id": "cust-1", "customerId": "cust-1", "linkedOn": "2024-01-15"}],
    )

    accept(doc)


def test_unknown_customer_is_rejected_for_every_referring_kind() -> None:
    doc = document(
        devices=[{"id": "dev-1", "customerId": "nobody", "linkedOn": "2024-01-15"}],
        tickets=[{"id": "tkt-1", "customerId": "nobody", "subject": "Printer"}],
        projects=[
            {"id": "prj-1", "customerId": "nobody", "code": "X", "name": "X", "billable": True}
        ],
        contracts=[contract("con-1", "2025-01-01", customer_id="nobody")],
    )

    problems = problems_of(doc)

    assert [(p.kind, p.id, p.field) for p in problems] == [
        ("device", "dev-1", "customerId"),
        ("ticket", "tkt-1", "customerId"),
        ("project", "prj-1", "customerId"),
        ("contract", "con-1", "customerId"),
    ]
    assert all(p.reason == "unknown customer 'nobody'" for p in problems)


def test_unknown_ticket_on_time_entry_is_rejected() -> None:
    problem = only_problem(document(timeEntries=[entry("te-9", ticketId="T-404")]))

    assert str(problem) == "timeEntry te-9: ticketId: unknown ticket 'T-404'"


def test_unknown_project_on_time_entry_is_rejected() -> None:
    problem = only_problem(document(timeEntries=[entry(ticketId=None, projectId="prj-404")]))

    assert str(problem) == "timeEntry te-1: projectId: unknown project 'prj-404'"


def test_contract_ending_before_it_starts_is_rejected() -> None:
    problem = only_problem(document(contracts=[contract("con-1", "2025-03-01", "2025-02-28")]))

    assert (problem.kind, problem.id, problem.field) == ("contract", "con-1", "endDate")


def test_one_day_contract_is_accepted() -> None:
    accept(document(contracts=[contract("con-1", "2025-03-01", "2025-03-01")]))


def test_device_unlinked_before_it_was_linked_is_rejected() -> None:
    device = {"id": "dev-1", "customerId": "cust-1", "linkedOn": "2025-03-10"}
    problem = only_problem(document(devices=[{**device, "unlinkedOn": "2025-03-09"}]))

    assert (problem.kind, problem.id, problem.field) == ("device", "dev-1", "unlinkedOn")
    accept(document(devices=[{**device, "unlinkedOn": "2025-03-10"}]))


def test_overlapping_contracts_are_rejected_with_both_ids() -> None:
    doc = document(
        contracts=[
            contract("con-a", "2025-01-01", "2025-03-15"),
            contract("con-b", "2025-03-15"),
        ]
    )

    problem = only_problem(doc)

    assert (problem.kind, problem.id) == ("contract", "con-b")
    assert "'con-a'" in problem.reason
    assert "cust-1" in problem.reason


def test_contract_starting_the_day_after_the_previous_ends_does_not_overlap() -> None:
    doc = document(
        contracts=[
            contract("con-a", "2025-01-01", "2025-03-14"),
            contract("con-b", "2025-03-15"),
        ]
    )

    assert len(accept(doc).contracts) == 2


def test_open_ended_contract_overlaps_any_later_one() -> None:
    doc = document(contracts=[contract("con-a", "2020-01-01"), contract("con-b", "2030-01-01")])

    problem = only_problem(doc)

    assert "open-ended" in problem.reason


def test_contracts_of_different_customers_may_overlap() -> None:
    doc = document(
        customers=[customer("cust-1"), customer("cust-2")],
        contracts=[
            contract("con-a", "2025-01-01"),
            contract("con-b", "2025-01-01", customer_id="cust-2"),
        ],
    )

    accept(doc)


def test_contract_overlapping_a_stored_contract_is_rejected() -> None:
    stored = Contract("con-old", "cust-1", "Old", Decimal(4), date(2024, 1, 1), None)
    existing = InMemoryExisting(contracts={"con-old": stored})

    problem = only_problem(document(contracts=[contract("con-new", "2025-03-01")]), existing)

    assert problem.id == "con-new"
    assert "'con-old'" in problem.reason
    assert "already stored" in problem.reason


def test_contract_replacing_a_stored_one_with_the_same_id_is_not_an_overlap() -> None:
    stored = Contract("con-old", "cust-1", "Old", Decimal(4), date(2024, 1, 1), None)
    existing = InMemoryExisting(contracts={"con-old": stored})
    doc = document(
        contracts=[
            contract("con-old", "2024-01-01", "2025-02-28"),
            contract("con-new", "2025-03-01"),
        ]
    )

    assert [c.id for c in accept(doc, existing).contracts] == ["con-old", "con-new"]


def test_moving_a_ticket_to_another_customer_is_refused() -> None:
    existing = InMemoryExisting(customer_ids={"cust-2"}, ticket_customers={"tkt-1": "cust-2"})

    problem = only_problem(document(), existing)

    assert (problem.kind, problem.id, problem.field) == ("ticket", "tkt-1", "customerId")
    assert "strand its time entries" in problem.reason


def test_moving_a_project_to_another_customer_is_refused() -> None:
    existing = InMemoryExisting(project_customers={"prj-1": "cust-2"})

    problem = only_problem(document(), existing)

    assert (problem.kind, problem.id, problem.field) == ("project", "prj-1", "customerId")


def test_every_problem_is_listed_not_just_the_first() -> None:
    doc = document(
        customers=[
            customer("cust-1", currency="XYZ"),
            customer("cust-2", taxPercent="120"),
            customer("cust-3"),
        ],
        devices=[
            {"id": "dev-1", "customerId": "ghost", "linkedOn": "2024-01-15"},
            {
                "id": "dev-2",
                "customerId": "cust-3",
                "linkedOn": "2024-05-01",
                "unlinkedOn": "2024-04-01",
            },
        ],
        tickets=[{"id": "tkt-1", "customerId": "cust-3", "subject": "Printer"}],
        projects=[],
        contracts=[
            contract("con-a", "2025-01-01", customer_id="cust-3"),
            contract("con-b", "2025-02-01", customer_id="cust-3"),
            contract("con-c", "2025-02-01", "2025-01-01", customer_id="cust-3"),
        ],
        timeEntries=[
            entry("te-1", ticketId="T-404"),
            entry("te-2", minutes=0),
            entry("te-2"),
            entry("te-3", projectId="prj-1"),
        ],
    )

    problems = problems_of(doc)

    assert {(p.kind, p.id, p.field) for p in problems} == {
        ("customer", "cust-1", "billing.currency"),
        ("customer", "cust-2", "billing.taxPercent"),
        ("device", "dev-1", "customerId"),
        ("device", "dev-2", "unlinkedOn"),
        ("contract", "con-b", "startDate"),
        ("contract", "con-c", "endDate"),
        ("timeEntry", "te-1", "ticketId"),
        ("timeEntry", "te-2", "minutes"),
        ("timeEntry", "te-2", "id"),
        ("timeEntry", "te-3", "ticketId/projectId"),
    }
    assert len(problems) == 10


def test_a_record_failing_the_schema_does_not_make_references_to_it_unknown() -> None:
    doc = document(
        customers=[customer(currency="XYZ")],
        tickets=[{"id": "tkt-1", "customerId": "cust-1", "subject": ""}],
    )

    problems = problems_of(doc)

    assert [(p.kind, p.field) for p in problems] == [
        ("customer", "billing.currency"),
        ("ticket", "subject"),
    ]


def test_import_rejected_is_a_billing_error_listing_each_problem_on_a_line() -> None:
    with pytest.raises(BillingError) as caught:
        accept(document(timeEntries=[entry("te-9", ticketId="T-404"), entry("te-8", minutes=0)]))

    message = str(caught.value)
    assert isinstance(caught.value, ImportRejected)
    assert "2 problems" in message
    assert "timeEntry te-9: ticketId: unknown ticket 'T-404'" in [
        line.strip() for line in message.splitlines()
    ]


# ---------------------------------------------------------------- billed entries


def billed_existing(statement: str = "stmt-2025-03-cust-1") -> InMemoryExisting:
    existing = InMemoryExisting.of(accept(document()))
    existing.bill("cust-1", Period(2025, 3), statement)
    return existing


def test_change_to_billed_entry_is_refused() -> None:
    existing = billed_existing()

    problems = problems_of(document(timeEntries=[entry(minutes=45, billable=False)]), existing)

    assert [(p.id, p.field) for p in problems] == [("te-1", "minutes"), ("te-1", "billable")]
    assert problems[0].reason == (
        "already billed on statement stmt-2025-03-cust-1; adjust the statement instead"
    )


def test_moving_a_billed_entry_out_of_its_period_is_refused() -> None:
    problem = only_problem(document(timeEntries=[entry(date="2025-04-01")]), billed_existing())

    assert (problem.id, problem.field) == ("te-1", "date")


def test_unchanged_billed_entry_can_be_imported_again() -> None:
    result = accept(document(), billed_existing())

    assert result.warnings == []


def test_description_of_a_billed_entry_may_change() -> None:
    doc = document(timeEntries=[entry(description="Replaced toner", userId="a.khan")])

    assert accept(doc, billed_existing()).entries[0].description == "Replaced toner"


def test_new_entry_in_billed_period_is_a_warning() -> None:
    doc = document(timeEntries=[entry(), entry("te-2", date="2025-03-20")])

    result = accept(doc, billed_existing("stmt-7"))

    assert [(w.kind, w.id, w.field) for w in result.warnings] == [("timeEntry", "te-2", "date")]
    assert "stmt-7" in result.warnings[0].reason
    assert [e.id for e in result.entries] == ["te-1", "te-2"]


def test_entry_in_a_period_not_yet_billed_is_not_a_warning() -> None:
    doc = document(timeEntries=[entry(), entry("te-2", date="2025-04-01")])

    assert accept(doc, billed_existing()).warnings == []


def test_stored_entry_of_an_unbilled_period_may_change() -> None:
    existing = InMemoryExisting.of(accept(document()))

    assert accept(document(timeEntries=[entry(minutes=90)]), existing).entries[0].minutes == 90


class CountingExisting:
    """Records each call, to prove the port is used in batches."""

    def __init__(self, inner: InMemoryExisting) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def customers(self, ids: Set[str]) -> Set[str]:
        self.calls.append("customers")
        return self.inner.customers(ids)

    def tickets(self, ids: Set[str]) -> Mapping[str, str]:
        self.calls.append("tickets")
        return self.inner.tickets(ids)

    def projects(self, ids: Set[str]) -> Mapping[str, str]:
        self.calls.append("projects")
        return self.inner.projects(ids)

    def contracts_of(self, customer_ids: Set[str]) -> Sequence[Contract]:
        self.calls.append("contracts_of")
        return self.inner.contracts_of(customer_ids)

    def time_entries(self, ids: Set[str]) -> Mapping[str, ExistingEntry]:
        self.calls.append("time_entries")
        return self.inner.time_entries(ids)

    def billed_periods(self, pairs: Set[tuple[str, str]]) -> Mapping[tuple[str, str], str]:
        self.calls.append("billed_periods")
        return self.inner.billed_periods(pairs)


def test_existing_data_is_asked_once_per_kind_however_big_the_import() -> None:
    entries = [entry(f"te-{i}", ticketId=f"tkt-{i % 5}") for i in range(50)]
    stored = TimeEntry("te-3", date(2025, 3, 1), 30, True, ticket_id="tkt-3")
    counting = CountingExisting(
        InMemoryExisting(
            customer_ids={"cust-2"},
            ticket_customers={f"tkt-{i}": "cust-1" for i in range(5)},
            entries={"te-3": ExistingEntry(stored, "cust-1")},
        )
    )
    doc = document(
        devices=[
            {"id": f"dev-{i}", "customerId": "cust-2", "linkedOn": "2024-01-15"} for i in range(30)
        ],
        timeEntries=entries,
    )

    accept(doc, counting)

    assert sorted(counting.calls) == sorted(
        ["customers", "tickets", "projects", "contracts_of", "time_entries", "billed_periods"]
    )


def test_rate_with_more_digits_than_the_currency_is_rejected() -> None:
    doc = {
        "orgId": "o1",
        "customers": [
            {
                "id": "c1",
                "name": "Yamada",
                "billing": {
                    "perDeviceRate": "1200.5",
                    "defaultHourlyRate": "9000",
                    "taxPercent": "10",
                    "currency": "JPY",
                    "autoSend": True,
                    "billingEmail": "ap@yamada.example",
                },
            }
        ],
        "projects": [
            {
                "id": "p1",
                "customerId": "c1",
                "code": "P",
                "name": "P",
                "billable": True,
                "hourlyRate": "100.25",
            }
        ],
    }

    with pytest.raises(ImportRejected) as refused:
        validate_document(json.dumps(doc), EmptyExisting())

    fields = {(p.kind, p.id, p.field) for p in refused.value.problems}
    assert fields == {
        ("customer", "c1", "billing.perDeviceRate"),
        ("project", "p1", "hourlyRate"),
    }


# ---------------------------------------------------------------- bounded reading


def test_deeply_nested_json_is_refused_before_the_parser_recurses() -> None:
    raw = '{"orgId": "org-1", "customers": ' + "[" * 3000 + "]" * 3000 + "}"

    problem = only_problem(raw)

    assert problem.kind == "document"
    assert "nested more than 32 levels deep" in problem.reason
    assert "line 1, column" in problem.reason


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    doc = document(tickets=[{"id": "tkt-1", "customerId": "cust-1", "subject": "[" * 250}])

    assert accept(doc).tickets[0].subject == "[" * 250


def test_nesting_as_bytes_is_refused_the_same_way() -> None:
    raw = ('{"orgId": "org-1", "x": ' + "{" * 40 + "}" * 40 + "}").encode()

    assert "nested more than 32" in only_problem(raw.decode()).reason
    with pytest.raises(ImportRejected):
        validate_document(raw, EmptyExisting())


def test_a_5000_digit_integer_is_refused_at_its_field() -> None:
    raw = json.dumps(document(timeEntries=[entry(minutes="HUGE")])).replace('"HUGE"', "9" * 5000)

    problem = only_problem(raw)

    assert (problem.kind, problem.id, problem.field) == ("timeEntry", "te-1", "minutes")
    assert "more than 30 digits" in problem.reason


def test_a_5000_digit_integer_anywhere_never_raises_a_bare_value_error() -> None:
    raw = '{"orgId": "org-1", "orgName": ' + "1" * 5000 + "}"

    problem = only_problem(raw)

    assert (problem.kind, problem.field) == ("document", "orgName")


def test_numbers_written_with_an_exponent_are_refused() -> None:
    for number in ("1e-400", "1E3", "2.5e1"):
        raw = json.dumps(document()).replace('"includedHours": "4"', f'"includedHours": {number}')
        problem = only_problem(raw)
        assert (problem.kind, problem.id, problem.field) == ("contract", "con-1", "includedHours")
        assert "exponent" in problem.reason, number


def test_json_number_money_with_more_than_six_decimals_is_refused() -> None:
    raw = json.dumps(document(customers=[customer(perDeviceRate="X")])).replace('"X"', "1.1234567")

    problem = only_problem(raw)

    assert (problem.field, problem.reason) == (
        "billing.perDeviceRate",
        "must have at most 6 decimals",
    )


def test_money_text_with_underscores_foreign_digits_or_spaces_is_refused() -> None:
    for bad in ("1_0", "٣", "5 ", "1 000", "+5", "0x10", "NaN", "Infinity"):
        problem = only_problem(document(customers=[customer(defaultHourlyRate=bad)]))
        assert (problem.id, problem.field) == ("cust-1", "billing.defaultHourlyRate"), bad


def test_included_hours_are_a_quantity_under_ten_million() -> None:
    raw = json.dumps(document()).replace('"includedHours": "4"', '"includedHours": "10000000"')

    problem = only_problem(raw)

    assert (problem.field, problem.reason) == ("includedHours", "must be less than 10000000")


def test_dates_must_be_within_2000_to_2100() -> None:
    for bad in ("1999-12-31", "2101-01-01", "0001-01-01", "9999-12-31"):
        problem = only_problem(document(timeEntries=[entry(date=bad)]))
        assert (problem.id, problem.field) == ("te-1", "date"), bad
        assert "2000-01-01 to 2100-12-31" in problem.reason
    accept(document(devices=[{"id": "dev-1", "customerId": "cust-1", "linkedOn": "2000-01-01"}]))
    accept(document(contracts=[contract("con-1", "2025-01-01", "2100-12-31")]))


# ---------------------------------------------------------------- text in the import


@pytest.mark.parametrize("char", ["\x00", "\x07", "\u202e", "\u2066", "\ufeff", "\ud800"])
def test_control_and_bidi_characters_are_refused_in_names_subjects_and_descriptions(
    char: str,
) -> None:
    doc = document(
        customers=[{**customer(), "name": f"Acme{char}Dental"}],
        tickets=[{"id": "tkt-1", "customerId": "cust-1", "subject": f"Printer{char}"}],
        timeEntries=[entry(description=f"fixed{char}it")],
        devices=[{"id": "dev-1", "customerId": "cust-1", "linkedOn": "2024-01-15", "name": char}],
    )

    problems = problems_of(doc)

    assert {(p.kind, p.field) for p in problems} == {
        ("customer", "name"),
        ("ticket", "subject"),
        ("timeEntry", "description"),
        ("device", "name"),
    }
    assert all(f"U+{ord(char):04X}" in p.reason for p in problems)


def test_a_5000_character_name_is_refused_with_the_limit() -> None:
    problem = only_problem(document(customers=[{**customer(), "name": "x" * 5000}]))

    assert (problem.field, problem.reason) == (
        "name",
        "is 5000 characters long; at most 200 allowed",
    )


def test_time_entry_descriptions_may_span_lines() -> None:
    doc = document(timeEntries=[entry(description="Replaced toner\r\nTested:\tOK")])

    assert accept(doc).entries[0].description == "Replaced toner\r\nTested:\tOK"


def test_a_name_of_only_spaces_is_refused() -> None:
    problem = only_problem(document(customers=[{**customer(), "name": "   "}]))

    assert (problem.field, problem.reason) == ("name", "must not be empty")


@pytest.mark.parametrize(
    "bad",
    [
        "ap@acme.example\r\nBcc: victim@example.com",
        "=?utf-8?b?YXBAYWNtZS5leGFtcGxl?=@acme.example",
        "Accounts <ap@acme.example>",
        "ap@acme.example, victim@example.com",
    ],
)
def test_billing_email_that_could_inject_headers_is_refused(bad: str) -> None:
    problem = only_problem(document(customers=[customer(billingEmail=bad)]))

    assert (problem.id, problem.field) == ("cust-1", "billing.billingEmail")


def test_an_unknown_field_name_is_echoed_escaped_and_short() -> None:
    doc = document(customers=[{**customer(), "evil\u202e" + "k" * 500: 1}])

    problem = only_problem(doc)

    assert problem.field.startswith("evil\\u202e")
    assert len(problem.field) < 60
    assert problem.reason == "unknown field (not in the import format)"


def test_a_malformed_record_id_is_never_echoed() -> None:
    bad_id = "\u202e" + "x" * 5000
    doc = document(devices=[{"id": bad_id, "customerId": "cust-1", "linkedOn": "2024-01-15"}])

    problem = only_problem(doc)

    assert (problem.kind, problem.id, problem.index, problem.field) == ("device", None, 0, "id")
    assert str(problem).startswith("device #0: id: ")


# ---------------------------------------------------------------- parse once, org id


def test_validate_import_asks_for_the_documents_organisation_once() -> None:
    asked: list[str] = []

    def existing_for(org_id: str) -> ExistingData:
        asked.append(org_id)
        return EmptyExisting()

    result = validate_import(json.dumps(document()), existing_for)

    assert asked == ["org-1"]
    assert result.org_id == "org-1"


def test_validate_import_without_a_valid_org_id_lists_it_with_the_other_problems() -> None:
    def existing_for(org_id: str) -> ExistingData:
        raise AssertionError("no stored data without an organisation")

    doc = document(orgId="has space", timeEntries=[entry(minutes=0)])

    with pytest.raises(ImportRejected) as caught:
        validate_import(json.dumps(doc), existing_for)

    assert {(p.kind, p.field) for p in caught.value.problems} == {
        ("document", "orgId"),
        ("timeEntry", "minutes"),
    }


def test_validate_import_refuses_malformed_json_without_asking_for_stored_data() -> None:
    with pytest.raises(ImportRejected) as caught:
        validate_import('{"orgId": "org-1",', lambda org_id: EmptyExisting())

    assert caught.value.problems[0].kind == "document"


# ---------------------------------------------------------------- optional new fields


def test_a_document_in_the_shared_format_imports_unchanged() -> None:
    result = accept(document())

    assert result.org_settings is None
    assert [c.profile for c in result.customers] == [CustomerProfile()]


def test_customer_statement_details_are_read_into_a_profile() -> None:
    record = customer(paymentTermsDays=14)
    record.update(addressLines=["1 High St", "Leeds LS1 1AA"], taxId="GB123456789", locale="en-GB")

    profile = accept(document(customers=[record])).customers[0].profile

    assert profile == CustomerProfile(
        address_lines=("1 High St", "Leeds LS1 1AA"),
        tax_id="GB123456789",
        locale="en-GB",
        payment_terms_days=14,
    )


def test_customer_statement_details_are_validated_field_by_field() -> None:
    record = customer(paymentTermsDays=400)
    record.update(addressLines=["ok", "bad\x00"], taxId="GB 123; DROP", locale="xx-YY")

    problems = problems_of(document(customers=[record]))

    assert {(p.id, p.field) for p in problems} == {
        ("cust-1", "billing.paymentTermsDays"),
        ("cust-1", "addressLines"),
        ("cust-1", "taxId"),
        ("cust-1", "locale"),
    }


def test_organisation_settings_in_the_document_are_changes_only() -> None:
    doc = document(organisation={"timeZone": "Europe/London", "paymentTermsDays": 30})

    settings = accept(doc).org_settings

    assert settings is not None
    assert settings.changes() == {"timeZone": "Europe/London", "paymentTermsDays": 30}


def test_bad_organisation_settings_name_the_organisation_and_field() -> None:
    doc = document(organisation={"paymentTermsDays": 366, "timeZone": "Mars/Olympus"})

    problems = problems_of(doc)

    assert [str(p) for p in problems] == [
        "organisation org-1: paymentTermsDays: must be from 0 to 365",
        "organisation org-1: timeZone: must be an IANA time zone like Europe/London or UTC",
    ]


def test_two_different_names_for_the_organisation_are_refused() -> None:
    problem = only_problem(document(organisation={"name": "Other MSP"}))

    assert str(problem) == "organisation org-1: name: differs from orgName; give the name once"
    accept(document(organisation={"name": "Demo MSP"}))


def test_the_documented_schema_names_exactly_the_fields_the_models_read() -> None:
    schema = json.loads((Path(__file__).parents[2] / "docs" / "import.schema.json").read_text())
    defs = schema["$defs"]

    def aliases(model: type[BaseModel]) -> set[str]:
        return {f.alias or name for name, f in model.model_fields.items()}

    assert set(schema["properties"]) == aliases(ImportDocument)
    assert set(defs["organisation"]["properties"]) == aliases(OrgSettingsUpdate)
    assert set(defs["customer"]["properties"]) == aliases(CustomerRecord)
    assert set(defs["customer"]["properties"]["billing"]["properties"]) == aliases(BillingRecord)
    for key, (kind, model) in RECORD_ARRAYS.items():
        assert set(defs[kind]["properties"]) == aliases(model), key


def test_an_unterminated_string_full_of_escaped_quotes_is_refused_quickly() -> None:
    raw = '{"orgId": "org-1", "orgName": "' + '\\"[' * 100_000

    started = time.perf_counter()
    problem = only_problem(raw)

    assert problem.kind == "document" and "Unterminated string" in problem.reason
    assert time.perf_counter() - started < 5  # quadratic scanning took minutes


# ---------------------------------------------------------------- nothing but refusals

_JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.text(max_size=30),
    st.sampled_from(["12.50", "1e3", "2025-03-10", "2100-13-01", "GBP", "ap@acme.example"]),
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(sorted(RECORD_ARRAYS)),
    field=st.sampled_from(
        [
            "id",
            "customerId",
            "name",
            "billing",
            "linkedOn",
            "subject",
            "minutes",
            "includedHours",
            "date",
            "ticketId",
            "description",
            "addressLines",
            "locale",
            "taxId",
        ]
    ),
    value=_JSON_VALUES,
)
def test_any_value_in_any_field_is_accepted_or_refused_never_crashes(
    kind: str, field: str, value: Any
) -> None:
    doc = document()
    records = doc.get(kind) or []
    record = dict(records[0]) if records else {"id": "x-1"}
    record[field] = value
    doc[kind] = [record]

    try:
        accept(doc)
    except ImportRejected as refused:
        assert all(isinstance(p.reason, str) and p.reason for p in refused.problems)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_any_text_or_bytes_is_accepted_or_refused_never_crashes(raw: str | bytes) -> None:
    try:
        accept(raw if isinstance(raw, str) else raw.decode("latin-1"))
        validate_document(raw, EmptyExisting())
    except ImportRejected:
        pass
