"""Deterministic, realistic demo data for one MSP, in the import format.

``demo_document(customers, seed, period)`` gives the same document for the same
arguments (``random.Random(seed)``, no clock) and always passes
``validate_document``. It exercises what the billing rules care about: a currency
mix with 0- and 3-decimal currencies (JPY, BHD, KWD), devices linked and
unlinked around the period, support contracts that end mid-period and are
followed by a new one the next day, non-billable time and projects, entries
from the previous month, and customers with nothing to bill. Money is written as decimal strings.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from psa_billing.domain.model import Period
from psa_billing.domain.money import Currency

_CURRENCIES = ("GBP", "EUR", "USD", "JPY", "BHD", "KWD")
_CURRENCY_WEIGHTS = (36, 24, 24, 7, 4, 5)
# Rough value of one GBP, to make prices plausible in each currency.
_PER_GBP = {
    "GBP": Decimal(1),
    "EUR": Decimal("1.17"),
    "USD": Decimal("1.27"),
    "JPY": Decimal(190),
    "BHD": Decimal("0.48"),
    "KWD": Decimal("0.39"),
}
_TAX = {
    "GBP": ("20", "20", "20", "0"),
    "EUR": ("19", "21", "20", "23", "0", "5.5"),
    "USD": ("0", "5", "7.5", "8.875", "6.25", "0"),
    "JPY": ("10",),
    "BHD": ("10", "0"),
    "KWD": ("0",),
}
_SUFFIX = {
    "GBP": ("Ltd", "LLP", "Ltd", "plc"),
    "EUR": ("GmbH", "B.V.", "SARL", "S.L.", "Oy"),
    "USD": ("LLC", "Inc.", "LLC", "PC"),
    "JPY": ("K.K.", "G.K."),
    "BHD": ("W.L.L.", "B.S.C."),
    "KWD": ("W.L.L.", "K.S.C.C."),
}
_FIRST = (
    "Acme",
    "Harbour",
    "Northgate",
    "Bluebell",
    "Riverside",
    "Kestrel",
    "Oakfield",
    "Summit",
    "Pioneer",
    "Lakeside",
    "Granite",
    "Beacon",
    "Meridian",
    "Foxglove",
    "Ashworth",
)
_SECOND = (
    "Dental",
    "Accountants",
    "Legal",
    "Logistics",
    "Veterinary",
    "Architects",
    "Engineering",
    "Print",
    "Surveyors",
    "Estates",
    "Clinic",
    "Freight",
    "Opticians",
    "Bakery",
)
_NON_ASCII = {
    "GBP": ("Brontë & Crewe Ltd", "Ōakley Café Ltd", "Siân Pryce Opticians Ltd"),
    "EUR": (
        "Müller & Søn GmbH",
        "Brasserie Lefèvre SARL",
        "Åkerlund Bygg AB",
        "Zürich Zahnärzte AG",
        "Łódź Logistyka Sp. z o.o.",
        "Peña & Ibáñez S.L.",
    ),
    "USD": ("José Núñez Dental PC", "Café Ōsaka 株式会社 USA Inc."),
    "JPY": ("Café Ōsaka 株式会社", "山田精機株式会社", "Tōkyō Dental 合同会社"),
    "BHD": ("Al Manāma Trading W.L.L.",),
    "KWD": ("Dār al-Kuwait Logistics K.S.C.C.",),
}
_DEVICE_KINDS = ("WS", "WS", "WS", "LT", "LT", "SRV", "FW", "NAS", "PRN")
_SUBJECTS = (
    "Printer on the 2nd floor shows offline",
    "Outlook keeps asking for the password",
    "New starter setup: laptop, M365 licence and MFA",
    "VPN drops every ten minutes",
    "Nightly backup job failed",
    "Firewall firmware update",
    "Leaver: disable account and recover laptop",
    "Shared mailbox permissions for finance",
    "Phishing email reported by reception",
    "Slow file server after Windows update",
    "Replace failing disk in NAS",
    "Teams calls dropping in the meeting room",
    "Wi-Fi dead spot in the warehouse",
    "Renew SSL certificate for the client portal",
    "Accounts package will not open after upgrade",
    "Scanner to email not working",
)
_PROJECTS = (
    ("M365", "Microsoft 365 migration"),
    ("SRV", "Server refresh"),
    ("WIFI", "Office Wi-Fi upgrade"),
    ("INTUNE", "Intune rollout"),
    ("BACKUP", "Backup redesign"),
    ("MOVE", "Office move"),
    ("ONBOARD", "Onboarding and documentation"),
)
_WORK = (
    "Remote session, diagnosed and fixed",
    "Called user back, talked through the fix",
    "Applied updates and rebooted out of hours",
    "Checked logs, escalated to vendor",
    "On site visit",
    "Reset credentials and re-enrolled MFA",
    "Configured and tested",
    "Documentation updated",
)
_TECHS = ("a.khan", "b.osei", "c.nowak", "d.murphy", "e.tanaka", "f.garcia")
_NICE_HOURS = (Decimal(2), Decimal(4), Decimal(5), Decimal(8), Decimal(10), Decimal("2.5"))


def _text(value: Decimal) -> str:
    """A money string of the import format: plain digits, never an exponent."""
    return format(value, "f")


def _price(rng: random.Random, gbp: Decimal, currency: str) -> str:
    """A rate in the currency's own digits (the import refuses more)."""
    cur = Currency.of(currency)
    value = gbp * _PER_GBP[currency]
    if currency == "JPY":
        value = (value / 10).quantize(Decimal(1)) * 10  # yen prices end in 0
    return _text(cur.round(value))


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:40].strip("-")


def _months_before(period: Period, months: int) -> date:
    index = period.year * 12 + period.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _day_in(period: Period, rng: random.Random, first: int = 1) -> date:
    return period.first_day + timedelta(days=rng.randint(first - 1, period.last_day.day - 1))


def _customer_name(rng: random.Random, currency: str) -> str:
    if rng.random() < 0.25:
        return rng.choice(_NON_ASCII[currency])
    return f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {rng.choice(_SUFFIX[currency])}"


def _devices(rng: random.Random, n: int, period: Period, count: int) -> list[dict[str, Any]]:
    devices = []
    start = period.first_day
    for d in range(1, count + 1):
        kind = rng.choice(_DEVICE_KINDS)
        device: dict[str, Any] = {
            "id": f"dev-{n:04d}-{d:02d}",
            "customerId": f"cust-{n:04d}",
            "name": f"{kind}-{rng.randint(1, 99):02d}",
        }
        linked = (
            _day_in(period, rng, 2)
            if rng.random() < 0.12
            else start - timedelta(days=rng.randint(1, 1100))
        )
        device["linkedOn"] = linked.isoformat()
        roll = rng.random()
        if roll < 0.08 and linked < start - timedelta(days=30):
            # Retired before the period: never counted.
            gone = linked + timedelta(days=rng.randint(1, (start - linked).days - 1))
            device["unlinkedOn"] = gone.isoformat()
        elif roll < 0.18:
            # Retired during the period: not linked at its end, so not counted.
            gone = max(linked, _day_in(period, rng))
            device["unlinkedOn"] = gone.isoformat()
        elif roll < 0.21:
            # Retired the day after the period: still counted.
            device["unlinkedOn"] = (period.last_day + timedelta(days=1)).isoformat()
        devices.append(device)
    return devices


def _contracts(
    rng: random.Random, n: int, period: Period, currency: str, hourly: Decimal
) -> list[dict[str, Any]]:
    """Never two active on one day (docs/billing-rules.md "Inputs")."""
    customer_id = f"cust-{n:04d}"

    def contract(
        suffix: str, start: date, end: date | None, hours: Decimal, name: str
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": f"con-{n:04d}-{suffix}",
            "customerId": customer_id,
            "name": name,
            "includedHours": _text(hours),
            "startDate": start.isoformat(),
        }
        if end is not None:
            record["endDate"] = end.isoformat()
        if rng.random() < 0.5:
            record["overageHourlyRate"] = _price(rng, hourly * Decimal("0.9"), currency)
        return record

    hours = rng.choice(_NICE_HOURS)
    months_back = rng.randint(3, 30)
    start = _months_before(period, months_back)
    roll = rng.random()
    if roll < 0.3:
        # Renewed mid-period: the old contract ends, the new one starts the next day.
        end = min(_day_in(period, rng, 5), period.last_day - timedelta(days=1))
        return [
            contract("a", start, end, hours, "Support Essentials"),
            contract("b", end + timedelta(days=1), None, rng.choice(_NICE_HOURS), "Support Plus"),
        ]
    if roll < 0.45:
        # Renewed at the start of an earlier month.
        renewed = _months_before(period, rng.randint(1, months_back - 1))
        return [
            contract("a", start, renewed - timedelta(days=1), hours, "Support Essentials"),
            contract("b", renewed, None, hours, "Support Essentials (renewed)"),
        ]
    end_date = period.last_day + timedelta(days=rng.randint(30, 400)) if roll < 0.6 else None
    return [contract("a", start, end_date, hours, "Managed Support")]


def _customer(
    rng: random.Random, n: int, period: Period, currency: str, doc: dict[str, list[Any]]
) -> None:
    customer_id = f"cust-{n:04d}"
    name = _customer_name(rng, currency)
    per_device = rng.choice(("3.50", "4", "5", "6.50", "7.25", "8", "10", "12.50", "15"))
    hourly = Decimal(rng.choice((55, 65, 75, 85, 95, 110, 125, 140)))
    default_hourly = _price(rng, hourly, currency)
    doc["customers"].append(
        {
            "id": customer_id,
            "name": name,
            "billing": {
                "perDeviceRate": _price(rng, Decimal(per_device), currency),
                "defaultHourlyRate": default_hourly,
                "taxPercent": rng.choice(_TAX[currency]),
                "currency": currency,
                "autoSend": rng.random() < 0.7,
                "billingEmail": f"ap@{_slug(name) or f'customer-{n:04d}'}.example",
            },
        }
    )
    # A few customers have nothing to bill: no devices, no time.
    if n % 12 == 6 or rng.random() < 0.03:
        return

    doc["devices"] += _devices(rng, n, period, rng.randint(0, 40))

    tickets = []
    for t in range(1, rng.randint(1, 8) + 1):
        ticket: dict[str, Any] = {
            "id": f"tkt-{n:04d}-{t:02d}",
            "customerId": customer_id,
            "subject": rng.choice(_SUBJECTS),
        }
        if rng.random() < 0.85:
            ticket["number"] = f"T{rng.randint(10000, 99999)}"
        tickets.append(ticket)
    doc["tickets"] += tickets

    projects = []
    for p, (code, title) in enumerate(rng.sample(_PROJECTS, rng.choice((0, 0, 1, 1, 2))), 1):
        project: dict[str, Any] = {
            "id": f"prj-{n:04d}-{p}",
            "customerId": customer_id,
            "code": f"{code}-{period.year}",
            "name": title,
            "billable": rng.random() < 0.8,
        }
        if rng.random() < 0.6:
            project["hourlyRate"] = _price(rng, hourly + 10, currency)
        projects.append(project)
    doc["projects"] += projects

    if rng.random() < 0.5:
        doc["contracts"] += _contracts(rng, n, period, currency, hourly)

    previous = Period.containing(period.first_day - timedelta(days=1))
    entries = []
    for _ in range(rng.choice((0, *range(3, 31)))):
        day = _day_in(previous, rng) if rng.random() < 0.05 else _day_in(period, rng)
        on_project = bool(projects) and rng.random() < 0.3
        target = rng.choice(projects if on_project else tickets)
        entry: dict[str, Any] = {
            "projectId" if on_project else "ticketId": target["id"],
            "userId": rng.choice(_TECHS),
            "date": day.isoformat(),
            "minutes": 5 * rng.randint(1, 48),
            "billable": rng.random() >= 0.15,
            "description": rng.choice(_WORK),
        }
        entries.append(entry)
    entries.sort(key=lambda e: (e["date"], e.get("ticketId") or e.get("projectId")))
    for k, entry in enumerate(entries, 1):
        doc["timeEntries"].append({"id": f"te-{n:04d}-{k:04d}", **entry})


def demo_document(
    customers: int, seed: int, period: Period, org_id: str = "demo-msp"
) -> dict[str, Any]:
    """A JSON-ready import document for ``customers`` customers, the same for the same seed."""
    rng = random.Random(seed)
    doc: dict[str, list[Any]] = {
        "customers": [],
        "devices": [],
        "tickets": [],
        "projects": [],
        "contracts": [],
        "timeEntries": [],
    }
    for n in range(1, customers + 1):
        # Make sure a larger demo always shows a 0-decimal and a 3-decimal currency.
        if n == 3:
            currency = "JPY"
        elif n == 5:
            currency = rng.choice(("BHD", "KWD"))
        else:
            currency = rng.choices(_CURRENCIES, _CURRENCY_WEIGHTS)[0]
        _customer(rng, n, period, currency, doc)
    return {"orgId": org_id, "orgName": "Demo MSP Ltd", **doc}


# What `make run`'s demo adds to each customer (docs/documents.md "Bill to"): an address
# and a tax id where the country has one, and the locale of the customer's currency. Not
# in demo_document itself, which stays in the shared import format (and keeps the
# benchmarks' figures comparable).
_PLACES = {
    "GBP": ("Leeds LS1 4AP", "United Kingdom", "GB", None),
    "EUR": ("10115 Berlin", "Germany", "DE", "de-DE"),
    "USD": ("Austin, TX 78701", "United States", None, "en-US"),
    "JPY": ("Tokyo 100-0005", "Japan", None, "ja-JP"),
    "BHD": ("Manama", "Bahrain", None, None),
    "KWD": ("Kuwait City", "Kuwait", None, None),
}
_STREETS = ("High Street", "Station Road", "Mill Lane", "Church Street", "Park Avenue")


def with_statement_details(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with every customer's optional statement details filled in, derived from
    its number and currency (no randomness: the rest of the document is unchanged)."""
    for n, customer in enumerate(doc["customers"], start=1):
        city, country, vat_prefix, locale = _PLACES[customer["billing"]["currency"]]
        customer["addressLines"] = [f"{n} {_STREETS[n % len(_STREETS)]}", city, country]
        if vat_prefix:
            customer["taxId"] = f"{vat_prefix}{(n * 7919) % 10**9:09d}"
        if locale:
            customer["locale"] = locale
    return doc


def demo_document_json(
    customers: int,
    seed: int,
    period: Period,
    org_id: str = "demo-msp",
    indent: int | None = 2,
) -> str:
    return json.dumps(
        demo_document(customers, seed, period, org_id), ensure_ascii=False, indent=indent
    )
