"""The figures on the merchant's home page, from the ledger and the settlement batches.

Balances come from the ledger accounts (stored balances, one row each), not from summing
payments, so the page costs the same on the first day and after a million sales.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from daozhang.core import clock
from daozhang.core.money import Money
from daozhang.ledger.accounts import merchant_frozen, merchant_payable, merchant_payout_due
from daozhang.ledger.models import Account
from daozhang.merchants.models import Merchant
from daozhang.payments.models import Payment, PaymentStatus
from daozhang.settlement.models import BatchStatus, SettlementBatch

CHART_DAYS = 30


@dataclass
class DayBar:
    day: dt.date
    amount: int
    count: int


@dataclass
class Dashboard:
    today: dt.date
    today_count: int
    today_amount: int
    unsettled: int  # booked, not yet in a batch
    awaiting_payout: int  # in batches, not yet arrived
    frozen: int
    next_batch: SettlementBatch | None
    problem_batches: list[SettlementBatch]
    bars: list[DayBar]


def _liability(spec_code: str, balances: dict[str, int]) -> int:
    """A merchant account is a liability: its credit balance is what we owe, shown positive."""
    return -balances.get(spec_code, 0)


def build(merchant: Merchant) -> Dashboard:
    today = clock.business_date()
    todays = Payment.objects.filter(merchant=merchant, business_date=today, status=PaymentStatus.APPROVED)
    agg = todays.aggregate(n=Count("id"), total=Sum("amount"))
    codes = [merchant_payable(merchant.id).code, merchant_payout_due(merchant.id).code,
             merchant_frozen(merchant.id).code]
    balances = dict(Account.objects.filter(code__in=codes).values_list("code", "balance"))
    open_batches = SettlementBatch.objects.filter(merchant=merchant)
    next_batch = (open_batches.filter(status__in=[BatchStatus.DUE, BatchStatus.IN_TRANSIT])
                  .order_by("payout_date", "settlement_date").first())
    problems = list(open_batches.filter(status__in=[BatchStatus.RETURNED, BatchStatus.HELD])
                    .order_by("settlement_date")[:5])
    return Dashboard(
        today=today, today_count=agg["n"] or 0, today_amount=agg["total"] or 0,
        unsettled=_liability(codes[0], balances), awaiting_payout=_liability(codes[1], balances),
        frozen=_liability(codes[2], balances), next_batch=next_batch, problem_batches=problems,
        bars=daily_sales(merchant, today),
    )


def daily_sales(merchant: Merchant, today: dt.date) -> list[DayBar]:
    start = today - dt.timedelta(days=CHART_DAYS - 1)
    rows = (Payment.objects.filter(merchant=merchant, business_date__gte=start, business_date__lte=today)
            .values("business_date")
            .annotate(total=Sum("amount", filter=Q(status=PaymentStatus.APPROVED)),
                      n=Count("id", filter=Q(status=PaymentStatus.APPROVED))))
    by_day = {r["business_date"]: (r["total"] or 0, r["n"]) for r in rows}
    return [DayBar(d, *by_day.get(d, (0, 0))) for d in (start + dt.timedelta(days=i) for i in range(CHART_DAYS))]


def chart_svg(bars: list[DayBar], zh: bool) -> str:
    """A bar chart as inline SVG: no JavaScript, readable by screen readers (each bar has a
    title; the page also offers the same figures as a table)."""
    width, height, pad = 600, 160, 4
    top = max((b.amount for b in bars), default=0) or 1
    step = width / max(len(bars), 1)
    parts = [f'<svg viewBox="0 0 {width} {height + 20}" role="img" aria-labelledby="chart-title">',
             f'<title id="chart-title">{"近 30 天交易额" if zh else "Sales of the last 30 days"}</title>']
    for i, b in enumerate(bars):
        h = round(b.amount * height / top)
        x = i * step + pad / 2
        label = f"{b.day:%m-%d} {Money(b.amount).display()} ({b.count})"
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{height - h}" width="{step - pad:.1f}" height="{h}">'
                     f"<title>{label}</title></rect>")
        if i % 5 == 0 or i == len(bars) - 1:
            anchor = "end" if i == len(bars) - 1 else "start"
            end_x = x + step - pad if anchor == "end" else x
            parts.append(f'<text x="{end_x:.1f}" y="{height + 15}" font-size="11" text-anchor="{anchor}">'
                         f"{b.day:%m-%d}</text>")
    parts.append("</svg>")
    return "".join(parts)
