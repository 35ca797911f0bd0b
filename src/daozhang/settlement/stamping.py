"""Stamping a settlement date on money as it is booked: the one rule every flow uses.

A flow (a sale, a void, a hold, an adjustment, …) asks for the date in the transaction
that books the money, and stores the answer on its row; the settlement run of that date
then sums it (the flow's registered source). Why here and not in `dates`: a date already
settled for the merchant is closed, and only settlement knows which.

The cut-off race (issue 11, item 8). A sale whose clock read 22:59:59.9 gets date D, but
it commits a moment later; the run of D may have read D's rows in between, and the sale
would then belong to a batch already made: never paid. So a date is *closed* before the
run reads anything (`close_days`, a `ClosedDay` row), and booking and closing exclude each
other on one lock per (cycle, date):

* PostgreSQL: the booking's statement calls `daozhang_open_settlement_date(cycle, D)`
  (settlement migration 0009), which holds the date's advisory lock in shared mode until
  the booking commits and then reads the closed days with a fresh snapshot; `close_days`
  takes the same lock exclusively, so it waits for the bookings of D in flight, and a
  booking arriving after it sees D closed and gets the next open date. Bookings of one
  date never wait for each other (shared mode); one call costs the online sale a few
  microseconds of server time (docs/performance.md).
* SQLite: every transaction is IMMEDIATE (settings), so a booking's transaction and the
  run's closing one cannot overlap: the closed-day read inside the booking is current.

Money booked *late* for its moment (a confirmation, a hold, an adjustment) is also moved
past the merchant's last batch (`open_settlement_date`), for dates settled by an earlier
run before the closed-day rows existed, or after a merchant changed cycle.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction

from daozhang.core import clock
from daozhang.dates.cycles import settlement_date_for
from daozhang.settlement.models import ClosedDay, SettlementBatch

# The SQL of the stamped date inside a booking's own statement (the online sale's INSERT):
# parameters (cycle, wanted date) — and on SQLite the wanted date twice more.
OPEN_DATE_SQL = {
    "postgresql": "daozhang_open_settlement_date(%s, %s)",
    "sqlite": ("(SELECT COALESCE(date(MAX(day), '+1 day'), %s) FROM settlement_closedday"
               " WHERE cycle = %s AND day >= %s)"),
}
# Both databases: the lock's two keys are (this, daozhang_settlement_day_key(cycle, day)).
_LOCK_CLASS = 1146704708


def open_date_params(cycle: str, wanted: dt.date) -> list[Any]:
    """The parameters of `OPEN_DATE_SQL` for this database."""
    day = connection.ops.adapt_datefield_value(wanted)
    if connection.vendor == "postgresql":
        return [cycle, day]
    return [day, cycle, day]


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        # Outside the booking's transaction the lock would end before the row is written.
        raise RuntimeError("a settlement date is stamped inside the transaction that books the money")


def open_day(*, cycle: str, wanted: dt.date) -> dt.date:
    """`wanted`, or the day after the last closed date of `cycle` from it on; holds the
    date's lock (PostgreSQL) until the caller's transaction ends."""
    _require_transaction()
    vendor = "postgresql" if connection.vendor == "postgresql" else "sqlite"
    with connection.cursor() as cur:
        cur.execute(f"SELECT {OPEN_DATE_SQL[vendor]}", open_date_params(cycle, wanted))
        value = cur.fetchone()[0]
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def settlement_date_of(*, merchant_id: uuid.UUID, cycle: str, at: dt.datetime) -> dt.date:
    """The settlement date of money booked at `at` for a merchant on `cycle`, never a closed
    one. Call it inside the transaction that books the money."""
    return open_settlement_date(merchant_id, open_day(cycle=cycle, wanted=settlement_date_for(at, cycle)))


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


def close_days(day: dt.date, cycles: Iterable[str]) -> None:
    """Close `day` for `cycles` before a run reads it: waits for the bookings of that date in
    flight to commit (they hold its lock), so the run sees every one; later ones are
    stamped with the next open date. Idempotent (a re-run closes nothing new)."""
    with transaction.atomic():
        now = clock.now()
        for cycle in sorted(cycles):
            if connection.vendor == "postgresql":
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(%s, daozhang_settlement_day_key(%s, %s))",
                                [_LOCK_CLASS, cycle, day])
            ClosedDay.objects.get_or_create(cycle=cycle, day=day, defaults={"closed_at": now})
