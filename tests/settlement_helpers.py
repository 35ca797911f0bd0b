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

    def settle(self, y, m, d):
        """At 23:10 that day, after both cut-offs, the day is settled (T+1 and D0)."""
        from daozhang.settlement.runs import run_settlement

        self.at(y, m, d, 23, 10)
        return run_settlement(dt.date(y, m, d))

    def pay(self, y, m, d, hh=9, mm=0):
        """The payout run at 09:00 (or the given time) that day."""
        from daozhang.settlement.payouts import run_payouts

        self.at(y, m, d, hh, mm)
        return run_payouts()
