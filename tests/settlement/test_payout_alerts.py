"""A payout stuck behind a bank outage alerts staff, and the alert closes by itself once
the bank takes the payout."""

from __future__ import annotations

import pytest

from daozhang.channels.sandbox import set_outage
from daozhang.core.alerts import open_alerts
from daozhang.settlement.models import Payout
from daozhang.settlement.payouts import run_payouts
from tests.settlement_helpers import Clock


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def test_stuck_payout_alert_is_resolved_when_the_bank_accepts_it(merchant_kit, clock, settings):
    settings.PAYOUT_MAX_TRIES = 2
    clock.at(2026, 11, 2, 10, 0)
    merchant_kit.sale(30000)
    clock.settle(2026, 11, 2)
    set_outage("bank", True)
    try:
        clock.pay(2026, 11, 3)
        assert open_alerts("payout_stuck") == []  # one failure is not yet stuck
        clock.at(2026, 11, 3, 9, 5)
        run_payouts()
        [alert] = open_alerts("payout_stuck")
        assert alert.key == str(Payout.objects.get().id) and "2 times" in alert.message_en
    finally:
        set_outage("bank", False)
    clock.at(2026, 11, 3, 9, 30)
    assert run_payouts().paid == 1
    assert open_alerts("payout_stuck") == []
