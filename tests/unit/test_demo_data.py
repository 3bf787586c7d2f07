"""The demo generator gives realistic, deterministic data that always imports cleanly."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest

from psa_billing.domain.model import Period
from psa_billing.domain.money import Currency
from psa_billing.ingest.validate import EmptyExisting, validate_document
from psa_billing_dev.demo import demo_document, demo_document_json

PERIOD = Period(2025, 3)


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    return demo_document(120, seed=7, period=PERIOD)


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.mark.parametrize("seed", [1, 2, 3, 42, 2025])
@pytest.mark.parametrize("period", [Period(2025, 3), Period(2024, 2), Period(2025, 1)])
def test_demo_document_validates_cleanly_for_several_seeds(seed: int, period: Period) -> None:
    result = validate_document(demo_document_json(40, seed, period), EmptyExisting())

    assert len(result.customers) == 40
    assert result.warnings == []


def test_demo_document_is_deterministic_for_a_seed() -> None:
    assert demo_document(30, 5, PERIOD) == demo_document(30, 5, PERIOD)
    assert demo_document_json(30, 5, PERIOD) == demo_document_json(30, 5, PERIOD)
    assert demo_document(30, 5, PERIOD) != demo_document(30, 6, PERIOD)


def test_demo_has_zero_and_three_decimal_currencies(demo: dict[str, Any]) -> None:
    currencies = Counter(c["billing"]["currency"] for c in demo["customers"])
    exponents = {Currency.of(code).exponent for code in currencies}

    assert {0, 2, 3} <= exponents
    assert {"GBP", "EUR", "USD"} <= set(currencies)
    assert currencies["GBP"] + currencies["EUR"] + currencies["USD"] > len(demo["customers"]) // 2
    for n in (5, 6, 10):
        small = {c["billing"]["currency"] for c in demo_document(n, 1, PERIOD)["customers"]}
        assert "JPY" in small
        assert small & {"BHD", "KWD"}


def test_demo_money_is_written_as_decimal_strings(demo: dict[str, Any]) -> None:
    money = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?")
    values = [
        *(
            c["billing"][k]
            for c in demo["customers"]
            for k in ("perDeviceRate", "defaultHourlyRate")
        ),
        *(p["hourlyRate"] for p in demo["projects"] if "hourlyRate" in p),
        *(c["includedHours"] for c in demo["contracts"]),
        *(c["overageHourlyRate"] for c in demo["contracts"] if "overageHourlyRate" in c),
    ]

    assert all(isinstance(v, str) and money.fullmatch(v) for v in values)


def test_demo_rates_never_have_more_digits_than_the_currency(demo: dict[str, Any]) -> None:
    def digits(text: str) -> int:
        return len(text.partition(".")[2])

    extra = [
        c
        for c in demo["customers"]
        for rate in (c["billing"]["perDeviceRate"], c["billing"]["defaultHourlyRate"])
        if digits(rate) > Currency.of(c["billing"]["currency"]).exponent
    ]

    assert extra == []


def test_demo_has_varied_tax_rates_and_mostly_auto_send(demo: dict[str, Any]) -> None:
    taxes = {c["billing"]["taxPercent"] for c in demo["customers"]}
    auto = sum(c["billing"]["autoSend"] for c in demo["customers"]) / len(demo["customers"])

    assert {"0", "20"} <= taxes
    assert len(taxes) >= 5
    assert 0.55 <= auto <= 0.85


def test_demo_has_non_ascii_names_and_example_billing_emails(demo: dict[str, Any]) -> None:
    names = [c["name"] for c in demo["customers"]]

    assert any(not n.isascii() for n in names)
    assert any(n.isascii() for n in names)
    assert all(
        re.fullmatch(r"ap@[a-z0-9-]+\.example", c["billing"]["billingEmail"])
        for c in demo["customers"]
    )
    assert "株式会社" in demo_document_json(120, 7, PERIOD)  # written as UTF-8, not \\u escapes


def test_demo_ids_follow_the_naming_scheme(demo: dict[str, Any]) -> None:
    patterns = {
        "customers": r"cust-\d{4}",
        "devices": r"dev-\d{4}-\d{2}",
        "tickets": r"tkt-\d{4}-\d{2}",
        "projects": r"prj-\d{4}-\d",
        "contracts": r"con-\d{4}-[a-z]",
        "timeEntries": r"te-\d{4}-\d{4}",
    }
    for key, pattern in patterns.items():
        assert demo[key], key
        assert all(re.fullmatch(pattern, r["id"]) for r in demo[key]), key
    assert demo["customers"][0]["id"] == "cust-0001"


def test_demo_devices_come_and_go(demo: dict[str, Any]) -> None:
    first, last = PERIOD.first_day, PERIOD.last_day
    devices = demo["devices"]
    per_customer = Counter(dev["customerId"] for dev in devices)

    assert any(first < d(dev["linkedOn"]) <= last for dev in devices)
    assert any("unlinkedOn" in dev and first <= d(dev["unlinkedOn"]) <= last for dev in devices)
    assert any("unlinkedOn" in dev and d(dev["unlinkedOn"]) < first for dev in devices)
    assert max(per_customer.values()) <= 40
    assert all(d(dev.get("unlinkedOn", dev["linkedOn"])) >= d(dev["linkedOn"]) for dev in devices)


def test_demo_contracts_never_overlap_and_some_renew_mid_period(demo: dict[str, Any]) -> None:
    by_customer: dict[str, list[dict[str, Any]]] = {}
    for con in demo["contracts"]:
        by_customer.setdefault(con["customerId"], []).append(con)
    renewed_mid_period = 0
    for contracts in by_customer.values():
        contracts.sort(key=lambda c: c["startDate"])
        for before, after in itertools.pairwise(contracts):
            assert d(before["endDate"]) < d(after["startDate"])
            assert d(before["endDate"]) + timedelta(days=1) == d(after["startDate"])
            renewed_mid_period += PERIOD.contains(d(before["endDate"]))

    share = len(by_customer) / len(demo["customers"])
    assert 0.3 <= share <= 0.6
    assert renewed_mid_period > 0
    assert any("overageHourlyRate" in c for c in demo["contracts"])
    assert any("overageHourlyRate" not in c for c in demo["contracts"])


def test_demo_projects_vary_in_billable_and_rate(demo: dict[str, Any]) -> None:
    projects = demo["projects"]

    assert any(not p["billable"] for p in projects)
    assert any("hourlyRate" not in p for p in projects)
    assert any("hourlyRate" in p and p["billable"] for p in projects)


def test_demo_entries_are_mostly_in_the_period(demo: dict[str, Any]) -> None:
    entries = demo["timeEntries"]
    previous = Period.containing(PERIOD.first_day - timedelta(days=1))
    in_period = sum(PERIOD.contains(d(e["date"])) for e in entries)
    in_previous = sum(previous.contains(d(e["date"])) for e in entries)
    non_billable = sum(not e["billable"] for e in entries) / len(entries)

    assert in_period + in_previous == len(entries)
    assert 0 < in_previous < in_period / 10
    assert all(5 <= e["minutes"] <= 240 for e in entries)
    assert 0.08 <= non_billable <= 0.22
    assert any("projectId" in e for e in entries)


def test_demo_has_customers_with_nothing_to_bill(demo: dict[str, Any]) -> None:
    busy = {dev["customerId"] for dev in demo["devices"]}
    ticket_owner = {t["id"]: t["customerId"] for t in demo["tickets"]}
    project_owner = {p["id"]: p["customerId"] for p in demo["projects"]}
    for e in demo["timeEntries"]:
        busy.add(ticket_owner.get(e.get("ticketId", "")) or project_owner[e["projectId"]])
    idle = [c["id"] for c in demo["customers"] if c["id"] not in busy]

    assert 2 <= len(idle) <= len(demo["customers"]) // 5


def test_demo_document_json_is_the_document(demo: dict[str, Any]) -> None:
    assert json.loads(demo_document_json(120, 7, PERIOD)) == demo
    assert demo_document(3, 1, PERIOD, org_id="acme-it")["orgId"] == "acme-it"
