"""Settlement cycles and cut-offs (Asia/Shanghai).

T+1: a sale booked before the T+1 cut-off on day D is paid on the next working day after
D; after the cut-off it belongs to D+1. D0: paid the same calendar day (holidays too),
for a fee, with an earlier cut-off so the bank can still execute the payout that day.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from daozhang.core import clock
from daozhang.dates.calendar import next_working_day


def cutoff(cycle: str) -> dt.time:
    return dt.time.fromisoformat(settings.SETTLEMENT_CUTOFFS[cycle])


def settlement_date_for(at: dt.datetime, cycle: str) -> dt.date:
    """The settlement date of money booked at `at` under `cycle`."""
    local = at.astimezone(clock.business_tz())
    day = local.date()
    if local.time() >= cutoff(cycle):
        day += dt.timedelta(days=1)
    return day


def cutoff_moment(settlement_date: dt.date, cycle: str) -> dt.datetime:
    """When the books for `settlement_date` close: no settlement run before this."""
    return dt.datetime.combine(settlement_date, cutoff(cycle), tzinfo=clock.business_tz())


def payout_date_for(settlement_date: dt.date, cycle: str) -> dt.date:
    """When the money should arrive. Raises CalendarGap when no calendar covers it."""
    if cycle == "D0":
        return settlement_date
    return next_working_day(settlement_date)
