"""What risk holds contribute to a merchant's settlement day (`settlement.sources`).

A hold deducts its amount in the batch of its `settlement_date`; its release adds it back
in the batch of its `release_settlement_date`. A trace of a batch points out the holds
still frozen.
"""

from __future__ import annotations

import datetime as dt
import uuid

from daozhang.core import clock
from daozhang.core.money import Money
from daozhang.risk.models import RiskHold
from daozhang.settlement.sources import Figure, Line, Note, Source, Tally


def _local(at: dt.datetime) -> str:
    return at.astimezone(clock.business_tz()).strftime("%m-%d %H:%M")


def _lines(merchant_id: uuid.UUID, day: dt.date) -> list[Line]:
    out = [Line(_local(h.created_at), "冻结 frozen", h.case_ref, h.reason, -h.amount, 0, -h.amount)
           for h in RiskHold.objects.filter(merchant_id=merchant_id, settlement_date=day)]
    out += [Line(_local(h.released_at) if h.released_at else "", "解冻 released", h.case_ref, h.release_note, h.amount,
                 0, h.amount)
            for h in RiskHold.objects.filter(merchant_id=merchant_id, release_settlement_date=day)]
    return out


def _notes(merchant_id: uuid.UUID, day: dt.date) -> list[Note]:
    tz = clock.business_tz()
    return [Note("frozen", {"amount": Money(h.amount).display(), "case": h.case_ref,
                            "since": h.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), "reason": h.reason})
            for h in RiskHold.objects.filter(merchant_id=merchant_id, settlement_date=day, released_at__isnull=True)]


HOLDS = Source(
    name="risk_holds", position=20,
    figures=(Figure("held_amount", -1, ("frozen", "冻结")), Figure("released_amount", +1, ("released", "解冻"))),
    tallies=(
        Tally("risk_riskhold", "settlement_date", {"held_amount": "SUM(amount)"}),
        Tally("risk_riskhold", "release_settlement_date", {"released_amount": "SUM(amount)"}),
    ),
    lines=_lines, notes=_notes,
)
