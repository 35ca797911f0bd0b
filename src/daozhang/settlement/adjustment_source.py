"""What manual adjustments contribute to a merchant's settlement day (`settlement.sources`).

Settlement's own flow, registered like any other: an adjustment counts, signed, in the
batch of its `settlement_date`, and a trace of that batch names who made it and why.
"""

from __future__ import annotations

import datetime as dt
import uuid

from daozhang.core import clock
from daozhang.core.money import Money
from daozhang.settlement.models import Adjustment
from daozhang.settlement.sources import Figure, Line, Note, Source, Tally, Wording


def _lines(merchant_id: uuid.UUID, day: dt.date) -> list[Line]:
    tz = clock.business_tz()
    return [Line(a.created_at.astimezone(tz).strftime("%m-%d %H:%M"), "调账 adjustment", a.created_by, a.reason,
                 a.amount, 0, a.amount)
            for a in Adjustment.objects.filter(merchant_id=merchant_id, settlement_date=day)]


def _notes(merchant_id: uuid.UUID, day: dt.date) -> list[Note]:
    tz = clock.business_tz()
    return [Note("manual_adjustment", {"who": a.created_by, "amount": Money(a.amount).display(),
                                       "when": a.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                                       "reason": a.reason})
            for a in Adjustment.objects.filter(merchant_id=merchant_id, settlement_date=day)]


ADJUSTMENTS = Source(
    name="adjustments", position=30,
    figures=(Figure("adjustments", +1, ("adjustments", "调账")),),
    tallies=(Tally("settlement_adjustment", "settlement_date", {"adjustments": "SUM(amount)"}),),
    lines=_lines, notes=_notes,
    wordings=(Wording(
        "manual_adjustment", ("Manual adjustment", "人工调账"),
        ("{who} adjusted your money by {amount} on {when}: {reason}.", "{who} 于 {when} 调整 {amount}：{reason}。"),
        ("Ask customer service if the reason is unclear.", "如对原因有疑问，请联系客服。")),),
)
