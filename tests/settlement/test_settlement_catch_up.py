"""The scheduled settlement job catches up on every day it missed while the worker was
down, in date order, and never settles a day twice."""

from __future__ import annotations

import datetime as dt

import pytest

from daozhang.core.models import Alert
from daozhang.settlement.models import SettledDay, SettlementBatch
from daozhang.settlement.tasks import CATCH_UP_DAYS, settle_closed_days
from tests.settlement_helpers import Clock

D = dt.date


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def test_a_worker_back_after_three_days_settles_each_missed_day_once(merchant_kit, clock):
    clock.at(2026, 11, 2, 23, 30)
    settle_closed_days.call()  # the worker settles 11-02's (empty) day and goes down
    for day in (3, 4, 5):
        clock.at(2026, 11, day, 12, 0)
        merchant_kit.sale(10000 + 100 * day)  # tails 00: approved (sandbox)
    clock.at(2026, 11, 6, 9, 0)  # back: 11-03, 11-04 and 11-05 have closed meanwhile
    result = settle_closed_days.call()
    batches = SettlementBatch.objects.filter(merchant=merchant_kit.merchant).order_by("settlement_date")
    assert [(b.settlement_date, b.figure("sales_amount")) for b in batches] == [
        (D(2026, 11, 3), 10300), (D(2026, 11, 4), 10400), (D(2026, 11, 5), 10500)]
    assert "2026-11-05: 1 batches" in result["T1"], result
    assert settle_closed_days.call()["T1"] == "up to date"
    assert SettlementBatch.objects.count() == 3


def test_a_gap_longer_than_the_catch_up_window_raises_an_alert(merchant_kit, clock):
    clock.at(2026, 9, 1, 23, 30)
    settle_closed_days.call()
    clock.at(2026, 10, 20, 9, 0)
    settle_closed_days.call()
    alert = Alert.objects.get(kind="settlement_behind", key="T1", resolved_at__isnull=True)
    assert "2026-09-02" in alert.message_en
    oldest = SettledDay.objects.filter(cycle="T1").exclude(day=D(2026, 9, 1)).order_by("day").first()
    assert oldest.day == D(2026, 10, 19) - dt.timedelta(days=CATCH_UP_DAYS)
