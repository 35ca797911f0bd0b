"""Moving the clock and making money flows for settlement tests."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")


class Clock:
    """Set `daozhang.core.clock.now` to a Shanghai wall-clock time."""

    def __init__(self, monkeypatch):
        from daozhang.core import clock

        self._mp = monkeypatch
        self._clock = clock
        self.at(2026, 9, 30, 10, 0)

    def at(self, y, m, d, hh=10, mm=0):
        moment = dt.datetime(y, m, d, hh, mm, tzinfo=SH)
        self._mp.setattr(self._clock, "now", lambda: moment)
        return moment
