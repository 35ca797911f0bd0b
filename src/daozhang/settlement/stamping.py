"""Stamping a settlement date on money as it is booked: the one rule every flow uses.

A flow (a sale, a hold, an adjustment, …) asks `settlement_date_of` once, in the
transaction that books the money, and stores the answer on its row; the settlement run
of that date then sums it (the flow's registered source). Why here and not in `dates`:
a date already settled for the merchant is closed, and only settlement knows which.

Money booked *now* on the online path (a sale, a void, a reversal) may take
`dates.cycles.settlement_date_for(now, cycle)` directly and save the look-up: a date's
run is refused before its cut-off (`runs.run_settlement`), and after the cut-off `now`
already falls on the next date, so the date it gets is never closed. Anything booked
later than the moment it belongs to (a confirmation, an import, a hold, an adjustment)
goes through `settlement_date_of`.
"""

from __future__ import annotations

import datetime as dt
import uuid

from daozhang.dates.cycles import settlement_date_for
from daozhang.settlement.models import SettlementBatch


def settlement_date_of(*, merchant_id: uuid.UUID, cycle: str, at: dt.datetime) -> dt.date:
    """The settlement date of money booked at `at` for a merchant on `cycle`, never a closed one."""
    return open_settlement_date(merchant_id, settlement_date_for(at, cycle))


def open_settlement_date(merchant_id: uuid.UUID, wanted: dt.date) -> dt.date:
    """`wanted`, or the day after the merchant's last batch if that date is already settled.

    Money booked late for a closed date (a timed-out payment confirmed the next day, an
    import of history) is paid in the next batch instead of being lost between batches.
    """
    last = (
        SettlementBatch.objects.filter(merchant_id=merchant_id, settlement_date__gte=wanted)
        .order_by("-settlement_date").values_list("settlement_date", flat=True).first()
    )
    return wanted if last is None else last + dt.timedelta(days=1)
