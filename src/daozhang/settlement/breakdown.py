"""A merchant's day in words and figures, from the registered sources (`settlement.sources`):
the formula a trace and an enquiry show for a batch, the sums of a day not settled yet,
and the days that hold money but no batch.

Read-only and per merchant: a trace or an enquiry asks about one merchant and a few days,
so each tally is one small indexed query, not the run's set-based statement.
"""

# Table and column names come from the sources' declarations, never from input:
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import connection

from daozhang.core.money import Money
from daozhang.settlement.models import SettlementBatch
from daozhang.settlement.sources import all_figures, all_sources


def _db_id(merchant_id: uuid.UUID) -> Any:
    return merchant_id.hex if connection.vendor == "sqlite" else merchant_id


def _db_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def formula(figures: dict[str, int], *, carried_in: int, d0_fee: int, net: int, zh: bool) -> str:
    """"sales ¥350.00 − fees ¥1.75 − … + carried ¥0.00 − D0 fee ¥0.00 = ¥348.25", in one language."""
    i = 1 if zh else 0
    parts = [f"{f.label[i]} {Money(figures.get(f.key, 0)).display()}" for f in all_figures() if f.sign]
    signs = [("+" if f.sign > 0 else "−") for f in all_figures() if f.sign]
    text = parts[0] if parts else ""
    for sign, part in zip(signs[1:], parts[1:], strict=True):
        text += f" {sign} {part}"
    carried, fee = ("结转", "D0 手续费") if zh else ("carried", "D0 fee")
    return (f"{text} + {carried} {Money(carried_in).display()} − {fee} {Money(d0_fee).display()}"
            f" = {Money(net).display()}")


def batch_formula(batch: SettlementBatch, *, zh: bool) -> str:
    return formula(batch.figures, carried_in=batch.carried_in, d0_fee=batch.d0_fee, net=batch.net, zh=zh)


def day_figures(merchant_id: uuid.UUID, day: dt.date) -> dict[str, int]:
    """Every source's figures for a merchant's day as a settlement run would sum them now."""
    out: dict[str, int] = {}
    with connection.cursor() as cur:
        for source in all_sources():
            for t in source.tallies:
                keys = list(t.sums)
                where = f" AND ({t.where})" if t.where else ""
                cur.execute(f"SELECT {', '.join(t.sums[k] for k in keys)} FROM {t.table}"
                            f" WHERE {t.date_column} = %s AND merchant_id = %s{where}",
                            [connection.ops.adapt_datefield_value(day), _db_id(merchant_id)])
                row = cur.fetchone() or ()
                for k, v in zip(keys, row, strict=False):
                    out[k] = out.get(k, 0) + int(v or 0)
    return out


def day_net(figures: dict[str, int]) -> int:
    return sum(f.sign * figures.get(f.key, 0) for f in all_figures())


def unsettled_days(merchant_id: uuid.UUID, first: dt.date, last: dt.date) -> list[dt.date]:
    """Days in [first, last] on which some source holds the merchant's money but no batch exists yet."""
    picks = []
    for source in all_sources():
        for t in source.tallies:
            where = f" AND ({t.where})" if t.where else ""
            picks.append(f"SELECT {t.date_column} FROM {t.table} WHERE merchant_id = %s"
                         f" AND {t.date_column} BETWEEN %s AND %s{where}")
    if not picks:
        return []
    params: list[Any] = []
    for _ in picks:
        params += [_db_id(merchant_id), connection.ops.adapt_datefield_value(first),
                   connection.ops.adapt_datefield_value(last)]
    with connection.cursor() as cur:
        cur.execute(" UNION ".join(picks), params)
        days = {_db_date(r[0]) for r in cur.fetchall() if r[0] is not None}
    settled = set(SettlementBatch.objects.filter(merchant_id=merchant_id, settlement_date__in=days)
                  .values_list("settlement_date", flat=True))
    return sorted(days - settled)
