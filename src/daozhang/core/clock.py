"""The clock and business dates.

Business dates are explicit and Asia/Shanghai: a sale at 23:30 UTC on the 1st belongs to
the 2nd in China. Tests move time by patching `now` (one place), never the system clock.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def business_tz() -> ZoneInfo:
    return ZoneInfo(settings.BUSINESS_TIME_ZONE)


def now() -> dt.datetime:
    return timezone.now()


def business_date(at: dt.datetime | None = None) -> dt.date:
    return (at or now()).astimezone(business_tz()).date()
