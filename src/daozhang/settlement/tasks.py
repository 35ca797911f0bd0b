"""Background jobs for settlement."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from daozhang.core import clock
from daozhang.core.alerts import raise_alert, resolve_alert
from daozhang.core.scheduler import periodic
from daozhang.settlement.calendar import covered

CALENDAR_LOOKAHEAD_DAYS = 60


@task()
def check_calendar_coverage() -> list[int]:
    """Alert staff well before settlement reaches a year no calendar covers."""
    today = clock.business_date()
    missing = []
    for year in sorted({today.year, (today + dt.timedelta(days=CALENDAR_LOOKAHEAD_DAYS)).year}):
        if covered(year):
            resolve_alert("calendar_gap", str(year))
        else:
            missing.append(year)
            raise_alert("calendar_gap", str(year),
                        en=f"No working-day calendar for {year}: load the official schedule "
                           f"(daozhang calendar load FILE) before settlement reaches it.",
                        zh=f"缺少 {year} 年工作日历：请在结算到达该年前导入官方放假安排"
                           f"（daozhang calendar load FILE）。")
    return missing


@periodic("settlement.check_calendar", every_seconds=3600)
def _enqueue_calendar_check() -> object:
    return check_calendar_coverage.enqueue()
