"""Example statements of every kind the documents must get right, made up in code.

Used by the render tests, bench/bench_render.py and ``make screenshots-pdf``
(``bench/bench_render.py --samples docs/screenshots --png``). Not used at run time.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

from PIL import Image, ImageDraw

from psa_billing.domain.model import Period
from psa_billing.domain.money import Currency
from psa_billing.render.view import ChangeView, CoveredTime, LineView, OrgView, StatementView

__all__ = ["KINDS", "logo_png", "sample"]

SUBJECTS = (
    "Printer offline in accounts",
    "Outlook keeps asking for the password",
    "New starter laptop setup — Müller",
    "VPN drops every 10 minutes on hotel Wi-Fi",
    "Backup job failed on FS01",
)


def logo_png() -> bytes:
    """A small made-up logo (a mark and a bar), drawn with Pillow (fpdf2 depends on it)."""
    img = Image.new("RGB", (480, 160), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 10, 140, 150), radius=28, fill=(24, 78, 119))
    draw.polygon([(30, 120), (70, 40), (110, 120)], fill=(255, 255, 255))
    draw.rectangle((170, 50, 470, 80), fill=(24, 78, 119))
    draw.rectangle((170, 96, 390, 112), fill=(120, 144, 156))
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _org(**changes: object) -> OrgView:
    org = OrgView(
        name="Kestrel IT Services",
        address_lines=("Unit 4, Riverside Park", "Leeds LS1 4AB", "United Kingdom"),
        email="billing@kestrel-it.example",
        legal_name="Kestrel IT Services Ltd",
        tax_number="GB123456789",
        tax_label="VAT",
        payment_instructions=(
            "Bank transfer to Kestrel IT Services Ltd\n"
            "Sort code 12-34-56 · Account 12345678\n"
            "IBAN GB29 NWBK 6016 1331 9268 19 · BIC NWBKGB2L"
        ),
        payment_link="https://pay.kestrel-it.example/s/KW-2026-000123",
        footer_note=(
            "Kestrel IT Services Ltd, registered in England and Wales no. 01234567. "
            "Registered office: Unit 4, Riverside Park, Leeds LS1 4AB."
        ),
    )
    return replace(org, **changes)  # type: ignore[arg-type]


def _time(i: int, minutes: int, rate: str, cur: Currency, desc: str | None = None) -> LineView:
    price = Decimal(rate)
    hours = Decimal(minutes) / 60
    return LineView(
        id=f"t{i}",
        kind="ticket_time",
        description=desc or f"Ticket #{1000 + i} {SUBJECTS[i % len(SUBJECTS)]}",
        quantity=hours.quantize(Decimal("0.0001")),
        unit_price=price,
        amount=cur.round(Decimal(minutes) * price / 60),
        minutes=minutes,
    )


def _view(
    lines: list[LineView],
    currency: str,
    tax_percent: str,
    **changes: object,
) -> StatementView:
    cur = Currency.of(currency)
    subtotal = sum((ln.amount for ln in lines), cur.round(Decimal(0)))
    tax = cur.round(subtotal * Decimal(tax_percent) / 100)
    view = StatementView(
        statement_id="st-sample",
        number="KW-2026-000123",
        org=_org(logo=logo_png()),
        customer_id="cust-0001",
        customer_name="Siân Pryce Opticians Ltd",
        billing_email="accounts@pryce-opticians.example",
        period=Period(2026, 10),
        issue_date=date(2026, 11, 1),
        currency=currency,
        lines=tuple(lines),
        subtotal=subtotal,
        tax_percent=Decimal(tax_percent),
        tax=tax,
        total=subtotal + tax,
        due_date=date(2026, 12, 1),
        locale="en-GB",
        customer_address_lines=("12 Castle Street", "Cardiff CF10 1BS"),
        customer_tax_id="GB987654321",
    )
    return replace(view, **changes)  # type: ignore[arg-type]


def _gbp_lines(cur: Currency) -> list[LineView]:
    return [
        LineView(
            "dev",
            "devices",
            "Managed devices (RMM)",
            Decimal(42),
            Decimal("4.50"),
            Decimal("189.00"),
        ),
        _time(1, 415, "95.00", cur, "Ticket #1042 Printer offline in accounts"),
        _time(2, 95, "95.00", cur, "Ticket #1043 Outlook keeps asking for the password"),
        LineView(
            "inc",
            "included_hours",
            "Gold support contract: included hours",
            Decimal("8.5"),
            Decimal("0.00"),
            Decimal("0.00"),
            minutes=510,
            included_minutes=600,
            covered=(
                CoveredTime("#1040 VPN drops every 10 minutes on hotel Wi-Fi", 270),
                CoveredTime("#1041 New starter laptop setup — Müller", 240),
            ),
        ),
        LineView(
            "prj",
            "project_time",
            "Project M365-MIG: Microsoft 365 migration — mailbox moves, Teams set-up, "
            "SharePoint permissions review and staff training (two sessions, on site)",
            Decimal("12.5"),
            Decimal("110.00"),
            Decimal("1375.00"),
            minutes=750,
        ),
    ]


def one_page() -> StatementView:
    return _view(_gbp_lines(Currency.of("GBP")), "GBP", "20")


def no_logo() -> StatementView:
    view = one_page()
    return replace(view, org=replace(view.org, logo=None))


def twenty_pages() -> StatementView:
    cur = Currency.of("GBP")
    lines = [
        LineView(
            "dev",
            "devices",
            "Managed devices (RMM)",
            Decimal(420),
            Decimal("4.50"),
            Decimal("1890.00"),
        )
    ]
    lines += [_time(i, 15 + 15 * (i % 8), "95.00", cur) for i in range(1, 850)]
    return _view(lines, "GBP", "20")


def many_lines(n: int) -> StatementView:
    """``n`` lines (the benchmark's 600-line statement)."""
    cur = Currency.of("GBP")
    return _view([_time(i, 15 + 15 * (i % 8), "95.00", cur) for i in range(n)], "GBP", "20")


def jpy() -> StatementView:
    cur = Currency.of("JPY")
    lines = [
        LineView(
            "dev", "devices", "管理対象デバイス (RMM)", Decimal(57), Decimal(550), Decimal(31350)
        ),
        _time(1, 135, "12000", cur, "チケット #2001 経理部のプリンターがオフライン"),
        _time(2, 50, "12000", cur, "チケット #2002 VPN 接続が切れる — 大阪支店"),
        LineView(
            "prj",
            "project_time",
            "プロジェクト: ファイルサーバー移行 (渋谷オフィス)",
            Decimal("7.25"),
            Decimal(15000),
            Decimal(108750),
            minutes=435,
        ),
    ]
    return _view(
        lines,
        "JPY",
        "10",
        locale="ja-JP",
        customer_name="株式会社ケストレル・ベーカリー",
        customer_address_lines=("〒150-0002 東京都渋谷区渋谷2-1-1",),
        customer_tax_id="T1234567890123",
        org=_org(
            logo=logo_png(),
            tax_label="Consumption tax",
            tax_number="T9876543210987",
            payment_instructions="三菱UFJ銀行 渋谷支店 普通 1234567 カ）ケストレルアイティー",
        ),
    )


def bhd() -> StatementView:
    cur = Currency.of("BHD")
    lines = [
        LineView(
            "dev",
            "devices",
            "Managed devices (RMM)",
            Decimal(18),
            Decimal("1.750"),
            Decimal("31.500"),
        ),
        _time(1, 200, "24.500", cur, "Ticket #3001 Firewall rule change — Manama office"),
        _time(2, 1250, "24.500", cur, "Ticket #3002 Server room move"),
    ]
    return _view(
        lines,
        "BHD",
        "10",
        locale="ar-BH",
        customer_name="Beacon Freight W.L.L.",
        customer_address_lines=("Building 1234, Road 5678", "Manama, Kingdom of Bahrain"),
        customer_tax_id="200012345600002",
    )


def cjk_names() -> StatementView:
    cur = Currency.of("EUR")
    lines = [
        _time(1, 60, "90.00", cur, "工单 #4001 北京办事处打印机故障"),
        _time(2, 125, "90.00", cur, "티켓 #4002 서울 지사 VPN 연결 끊김"),
        _time(3, 45, "90.00", cur, "Ticket #4003 Ελληνικά — Αθήνα · Русский — Москва"),
        _time(4, 30, "90.00", cur, "Ticket #4004 Tiếng Việt: Nguyễn Thị Minh Khai · Zażółć gęślą"),
        _time(5, 20, "90.00", cur, "Ticket #4005 İstanbul şubesi: ağ güncellemesi"),
    ]
    return _view(
        lines,
        "EUR",
        "19",
        locale="de-DE",
        customer_name="서울 테크 주식회사 / 北京科技有限公司",
        customer_address_lines=("서울특별시 중구 세종대로 110",),
        org=_org(logo=None, tax_label="USt", tax_number="DE123456789"),
    )


def revised() -> StatementView:
    view = one_page()
    cur = Currency.of("GBP")
    was = _time(1, 475, "95.00", cur, "Ticket #1042 Printer offline in accounts")
    now = view.lines[1]
    credit = LineView(
        "cr1",
        "credit",
        "Goodwill credit: backup outage on 14 October",
        Decimal(1),
        Decimal("-50.00"),
        Decimal("-50.00"),
    )
    late = _time(9, 45, "95.00", cur, "Ticket #1050 Shared mailbox permissions")
    lines = [*view.lines, late, credit]
    changes = (
        ChangeView("changed", now.description, was=was, now=now),
        ChangeView("late_time", late.description, now=late, amount=late.amount),
        ChangeView("credit", credit.description, amount=credit.amount),
    )
    fresh = _view(lines, "GBP", "20")
    return replace(
        fresh,
        revision=2,
        previous_sent_on=date(2026, 11, 2),
        previous_total=Decimal("2766.00"),
        changes=changes,
    )


def void() -> StatementView:
    return replace(one_page(), void_on=date(2026, 11, 9))


KINDS: dict[str, Callable[[], StatementView]] = {
    "one-page": one_page,
    "no-logo": no_logo,
    "twenty-pages": twenty_pages,
    "jpy": jpy,
    "bhd": bhd,
    "cjk-names": cjk_names,
    "revised": revised,
    "void": void,
}


def sample(kind: str) -> StatementView:
    return KINDS[kind]()
