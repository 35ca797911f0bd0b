"""Settlement cycles and cut-offs (Asia/Shanghai).

T+1: a sale booked before the T+1 cut-off on day D is paid on the next working day after
D; after the cut-off it belongs to D+1 (a cut-off before noon, 00:00 included, is the
night after D: `closes_next_morning`). D0: paid the same calendar day (holidays too), for
a fee, with an earlier cut-off so the bank can still execute the payout that day.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from daozhang.core import clock
from daozhang.dates.calendar import next_working_day

MIDNIGHT, NOON = dt.time(0, 0), dt.time(12, 0)


def cutoff(cycle: str) -> dt.time:
    """The cycle's cut-off, HH:MM (Asia/Shanghai)."""
    return dt.time.fromisoformat(settings.SETTLEMENT_CUTOFFS[cycle])


def closes_next_morning(cycle: str, limit: dt.time) -> bool:
    """Whether a day's books close at `limit` on the next calendar day: a T+1 cut-off before
    noon is a night cut-off (00:00 is midnight at the day's end, 02:00 the night after);
    otherwise, and always for D0 (paid the same day), at `limit` on the day itself.
    Without this a cut-off of 00:00 put every sale on the next day (issue 13, item 11)."""
    return limit == MIDNIGHT or (cycle == "T1" and limit < NOON)


def business_day_of(local: dt.datetime, cycle: str, limit: dt.time) -> dt.date:
    """The settlement date of money booked at `local` (Shanghai time) under `cycle`."""
    day = local.date()
    if closes_next_morning(cycle, limit):
        return day if local.time() >= limit else day - dt.timedelta(days=1)
    return day + dt.timedelta(days=1) if local.time() >= limit else day


def settlement_date_for(at: dt.datetime, cycle: str) -> dt.date:
    """The settlement date of money booked at `at` under `cycle`."""
    return business_day_of(at.astimezone(clock.business_tz()), cycle, cutoff(cycle))


def cutoff_moment(settlement_date: dt.date, cycle: str) -> dt.datetime:
    """When the books for `settlement_date` close: no settlement run before this."""
    limit = cutoff(cycle)
    day = settlement_date + dt.timedelta(days=1) if closes_next_morning(cycle, limit) else settlement_date
    return dt.datetime.combine(day, limit, tzinfo=clock.business_tz())


def payout_date_for(settlement_date: dt.date, cycle: str) -> dt.date:
    """When the money should arrive. Raises CalendarGap when no calendar covers it."""
    if cycle == "D0":
        return settlement_date
    return next_working_day(settlement_date)
