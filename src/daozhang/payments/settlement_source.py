"""What sales contribute to a merchant's settlement day (`settlement.sources`).

A sale counts in the batch of its `settlement_date`, net of its fee; a void or reversal
of a sale settled earlier takes the sale's net back in the batch of its
`undo_settlement_date` (an undo on the sale's own day simply removes it from the day).
"""

from __future__ import annotations

import datetime as dt
import uuid

from daozhang.core import clock
from daozhang.payments.models import Payment
from daozhang.settlement.sources import Figure, Line, Source, Tally


def _lines(merchant_id: uuid.UUID, day: dt.date) -> list[Line]:
    tz = clock.business_tz()
    out = []
    for p in Payment.objects.select_related("terminal").filter(merchant_id=merchant_id, settlement_date=day).order_by(
            "created_at"):
        out.append(Line(p.created_at.astimezone(tz).strftime("%m-%d %H:%M"), "消费 sale", p.rrn or str(p.id)[:8],
                        f"{p.terminal.terminal_id} {p.channel} {p.masked_pan}".strip(), p.amount, p.fee,
                        p.amount - p.fee))
    for p in Payment.objects.filter(merchant_id=merchant_id, undo_settlement_date=day).order_by("updated_at"):
        label = "撤销 void" if p.status == "voided" else "冲正 reversal"
        out.append(Line(p.updated_at.astimezone(tz).strftime("%m-%d %H:%M"), label, p.rrn or str(p.id)[:8],
                        f"original {p.created_at.astimezone(tz):%m-%d %H:%M}", -p.amount, -p.fee,
                        -(p.amount - p.fee)))
    return out


SALES = Source(
    name="payments", position=10,
    figures=(
        Figure("sales_count", 0, ("sales count", "交易笔数")),
        Figure("sales_amount", +1, ("sales", "交易")),
        Figure("fees", -1, ("fees", "手续费")),
        Figure("undone_amount", -1, ("voids/reversals", "撤销冲正")),
    ),
    tallies=(
        Tally("payments_payment", "settlement_date",
              {"sales_count": "COUNT(*)", "sales_amount": "SUM(amount)", "fees": "SUM(fee)"}),
        Tally("payments_payment", "undo_settlement_date", {"undone_amount": "SUM(amount - fee)"}),
    ),
    lines=_lines,
)
