"""Missing-money enquiry: "I expected X on date D" — explain it, or open a case."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from daozhang.core.errors import DomainError
from daozhang.core.money import Money, MoneyError, validate_amount_fen
from daozhang.merchants.models import Merchant
from daozhang.settlement.breakdown import batch_formula
from daozhang.settlement.breakdown import unsettled_days as unsettled
from daozhang.settlement.models import SettlementBatch
from daozhang.support.models import SupportCase
from daozhang.support.services import open_case
from daozhang.tracing.trace import Trace, trace_batch, trace_day

WINDOW_DAYS = 3


@dataclass
class EnquiryAnswer:
    matched: str  # "exact" | "batch_differs" | "not_settled" | "unexplained"
    explanation: tuple[str, str]
    traces: list[Trace]
    case: SupportCase | None


def enquire(*, merchant: Merchant, expected_amount: object, expected_date: dt.date, actor: str) -> EnquiryAnswer:
    try:
        amount = validate_amount_fen(expected_amount)
    except MoneyError as exc:
        raise DomainError(exc.reason, "expected_amount") from exc
    want = Money(amount).display()
    near = list(SettlementBatch.objects.filter(
        merchant=merchant, payout_date__gte=expected_date - dt.timedelta(days=WINDOW_DAYS),
        payout_date__lte=expected_date + dt.timedelta(days=WINDOW_DAYS)).order_by("payout_date"))
    exact = [b for b in near if b.net == amount]
    if exact:
        b = exact[0]
        return EnquiryAnswer("exact", (f"Your {want} is the batch of {b.settlement_date}, due {b.payout_date}.",
                                       f"您的 {want} 为 {b.settlement_date} 批次，应于 {b.payout_date} 到账。"),
                             [trace_batch(merchant, b.id)], None)
    on_day = [b for b in near if b.payout_date == expected_date]
    if on_day:
        b = on_day[0]
        short = amount > b.net
        diff = Money(abs(amount - b.net)).display()
        return EnquiryAnswer(
            "batch_differs",
            (f"The payout due {b.payout_date} is {Money(b.net).display()}, {diff} {'less' if short else 'more'} "
             f"than you expected: {batch_formula(b, zh=False)}.",
             f"{b.payout_date} 应到账 {Money(b.net).display()}，比您预期{'少' if short else '多'} {diff}："
             f"{batch_formula(b, zh=True)}。"),
            [trace_batch(merchant, b.id)], None)
    unsettled_days = unsettled(merchant.id, expected_date - dt.timedelta(days=10), expected_date)
    if unsettled_days:
        traces = [trace_day(merchant, d) for d in unsettled_days]
        return EnquiryAnswer("not_settled", (f"Sales of {', '.join(map(str, unsettled_days))} are not settled yet.",
                                             f"{', '.join(map(str, unsettled_days))} 的交易尚未结算。"), traces, None)
    diagnosis: dict[str, Any] = {
        "expected_amount": amount, "expected_date": expected_date.isoformat(),
        "batches_near": [{"id": str(b.id), "settlement_date": b.settlement_date.isoformat(),
                          "payout_date": b.payout_date.isoformat(), "net": b.net, "status": b.status} for b in near],
        "finding": "no batch or unsettled sale explains the expected amount",
    }
    case = open_case(merchant=merchant, kind="missing_money",
                     subject=f"Expected {want} on {expected_date}, nothing matches / 预期 {expected_date} 到账 {want}，"
                             "未找到对应款项", diagnosis=diagnosis, actor=actor)
    return EnquiryAnswer("unexplained",
                         (f"Nothing we hold explains {want} on {expected_date}; case {case.case_no} is open and "
                          "customer service will answer you.",
                          f"系统未找到 {expected_date} 到账 {want} 的对应款项，"
                          f"已创建工单 {case.case_no}，客服将答复您。"),
                         [], case)
