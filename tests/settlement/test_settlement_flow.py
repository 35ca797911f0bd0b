"""Settlement and payouts end to end: batches, T+1 over holidays, D0, carry-forward,
returned payouts, account correction and automatic re-payment — with the ledger checked."""

from __future__ import annotations

import datetime as dt

import pytest

from daozhang.channels.sandbox import set_outage
from daozhang.dates.calendar import CalendarGap
from daozhang.ledger.accounts import merchant_payout_due
from daozhang.ledger.models import Account
from daozhang.ledger.selectors import check_ledger, merchant_payable_balance
from daozhang.notifications.models import Notification
from daozhang.settlement.accounts import verify_account_change
from daozhang.settlement.models import Payout, SettlementBatch
from daozhang.settlement.payouts import run_payouts
from daozhang.settlement.runs import run_settlement
from tests.account_helpers import change_account
from tests.settlement_helpers import Clock

D = dt.date


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def _due(merchant_id):
    return -Account.objects.get(id=merchant_payout_due(merchant_id).id).balance


def test_t1_batch_pays_after_the_golden_week(merchant_kit, clock, deliver_outbox):
    clock.at(2026, 9, 30, 10, 0)
    merchant_kit.sale(10000)
    merchant_kit.sale(20000)
    voided = merchant_kit.sale(5000).json()
    merchant_kit.post(f"/api/v1/payments/{voided['id']}/void", {"terminal_id": merchant_kit.terminal.terminal_id})
    clock.at(2026, 9, 30, 23, 30)
    late = merchant_kit.sale(7000).json()  # after the 23:00 cut-off: belongs to 10-01
    r = run_settlement(D(2026, 9, 30))
    assert (r.batches, r.due) == (1, 1)
    b = SettlementBatch.objects.get(merchant=merchant_kit.merchant)
    assert b.payout_date == D(2026, 10, 8)
    figures = (b.figure("sales_amount"), b.figure("fees"), b.figure("undone_amount"), b.net)
    assert figures == (35000, 175, 4975, 30000 - 150)
    assert merchant_payable_balance(merchant_kit.merchant.id) == 7000 - 35  # only the late sale is unsettled
    assert _due(merchant_kit.merchant.id) == 29850
    assert late["status"] == "approved"

    assert clock.pay(2026, 10, 7).submitted == 0  # not due before 10-08
    pr = clock.pay(2026, 10, 8)
    assert (pr.submitted, pr.paid) == (1, 1)
    b.refresh_from_db()
    assert b.status == "paid"
    p = Payout.objects.get(batch=b)
    assert p.status == "paid" and p.bank_ref.startswith("BK")
    assert _due(merchant_kit.merchant.id) == 0
    deliver_outbox()
    assert Notification.objects.filter(merchant=merchant_kit.merchant, kind="payout_paid").exists()
    # Everything again: nothing new.
    assert run_settlement(D(2026, 9, 30)).batches == 0
    assert run_payouts().submitted == 0 and Payout.objects.count() == 1
    assert check_ledger().ok


def test_make_up_saturday_and_no_run_before_cut_off(merchant_kit, clock):
    clock.at(2026, 2, 13, 12, 0)
    merchant_kit.sale(10000)
    with pytest.raises(Exception, match="settlement_not_due"):
        run_settlement(D(2026, 2, 13))
    clock.at(2026, 2, 13, 23, 5)
    run_settlement(D(2026, 2, 13))
    assert SettlementBatch.objects.get().payout_date == D(2026, 2, 14)


@pytest.mark.parametrize("cut", ["00:00", "00:01", "23:59"])
def test_any_cut_off_keeps_a_days_sales_on_that_day(merchant_kit, clock, settings, cut):
    """Issue 13, item 11: DAOZHANG_T1_CUTOFF=00:00 moved every sale a day (each sale came
    after 00:00) and closed each day as it began. A T+1 cut-off before noon is the night
    after the day (00:00: midnight at its end; 00:01 a minute later)."""
    from daozhang.payments.models import Payment

    settings.SETTLEMENT_CUTOFFS = {**settings.SETTLEMENT_CUTOFFS, "T1": cut}
    clock.at(2026, 11, 2, 12, 0)  # noon, Shanghai: before every cut-off but 00:00, and before that one's end of day
    merchant_kit.sale(10000)
    assert Payment.objects.get().settlement_date == D(2026, 11, 2)
    clock.at(2026, 11, 2, 23, 58)
    with pytest.raises(Exception, match="settlement_not_due"):
        run_settlement(D(2026, 11, 2))  # the day's books are still open
    if cut == "00:01":
        clock.at(2026, 11, 3, 0, 0)  # a sale in the minute after midnight still belongs to the 2nd
        merchant_kit.sale(500)
        assert Payment.objects.filter(amount=500).get().settlement_date == D(2026, 11, 2)
    clock.at(2026, 11, 3, 0, 2)
    run_settlement(D(2026, 11, 2))
    assert SettlementBatch.objects.get().payout_date == D(2026, 11, 3)


def test_d0_pays_the_same_day_for_a_fee(make_merchant, clock):
    kit = make_merchant(settlement_cycle="D0")
    clock.at(2026, 10, 3, 11, 0)  # a holiday: D0 still pays
    kit.sale(100000, channel="wechat", entry_mode="qr")  # fee 380
    clock.at(2026, 10, 3, 15, 30)
    run_settlement(D(2026, 10, 3), cycles=("D0",))
    b = SettlementBatch.objects.get()
    assert (b.cycle, b.payout_date, b.d0_fee, b.net) == ("D0", D(2026, 10, 3), 50, 100000 - 380 - 50)
    assert run_payouts().paid == 1
    assert check_ledger().ok


def test_negative_net_is_carried_and_recovered(make_merchant, clock):
    clock.at(2026, 11, 2, 9, 0)
    merchant_kit = make_merchant()  # its terminal bound before the sale it will reverse
    clock.at(2026, 11, 2, 10, 0)
    sale = merchant_kit.sale(50000).json()
    clock.settle(2026, 11, 2)
    clock.at(2026, 11, 3, 0, 5)  # the terminal reverses yesterday's sale after it was settled
    rev = merchant_kit.post("/api/v1/payments/reversal", {"terminal_id": merchant_kit.terminal.terminal_id,
                                                         "original_stan": sale["stan"]})
    assert rev.json()["outcome"] == "reversed"
    merchant_kit.sale(10000)
    clock.settle(2026, 11, 3)
    carried = SettlementBatch.objects.get(settlement_date=D(2026, 11, 3))
    assert (carried.status, carried.net) == ("carried", 9950 - 49750)
    clock.at(2026, 11, 4, 10, 0)
    merchant_kit.sale(100000)
    clock.settle(2026, 11, 4)
    b = SettlementBatch.objects.get(settlement_date=D(2026, 11, 4))
    assert (b.status, b.carried_in, b.net) == ("due", -39800, 99500 - 39800)
    carried.refresh_from_db()
    assert carried.carried_to_id == b.id
    assert check_ledger().ok


def test_returned_payout_is_repaid_after_the_account_is_corrected(make_merchant, clock, deliver_outbox, settings):
    from daozhang.merchants.services import BankAccountInput

    settings.PAYOUT_COOLOFF_HOURS = 0  # the cool-off after a change: tests/settlement/test_payout_checks.py

    kit = make_merchant(bank_account=BankAccountInput(holder_name="测试", account_number="6222000011110002",
                                                      bank_name="工商银行", account_type="corporate"))
    clock.at(2026, 11, 2, 10, 0)
    kit.sale(30000)
    clock.settle(2026, 11, 2)
    r = clock.pay(2026, 11, 3)
    assert (r.submitted, r.returned) == (1, 1)
    b = SettlementBatch.objects.get()
    p = Payout.objects.get()
    assert (b.status, p.return_code) == ("returned", "R02")
    assert _due(kit.merchant.id) == 30000 - 150  # back where the merchant sees it
    deliver_outbox()
    assert Notification.objects.filter(kind="payout_returned", body_zh__contains="已销户").exists()
    assert run_payouts().submitted == 0  # not re-sent to the same closed account

    account = change_account(kit.merchant, BankAccountInput(
        holder_name=kit.merchant.legal_name, account_number="6222000011119999", bank_name="工商银行",
        account_type="corporate"))
    verify_account_change(account_id=account.id)
    b.refresh_from_db()
    assert b.status == "due"
    r = run_payouts()
    assert (r.submitted, r.paid) == (1, 1)
    second = Payout.objects.get(attempt=2)
    assert second.account_id == account.id and second.status == "paid"
    assert _due(kit.merchant.id) == 0
    assert check_ledger().ok


def test_bank_outage_retries_with_backoff_and_pays_once(merchant_kit, clock):
    clock.at(2026, 11, 2, 10, 0)
    merchant_kit.sale(30000)
    clock.settle(2026, 11, 2)
    set_outage("bank", True)
    assert clock.pay(2026, 11, 3).retrying == 1
    p = Payout.objects.get()
    assert p.status == "retrying" and p.next_try_at == clock.at(2026, 11, 3, 9, 1)
    set_outage("bank", False)
    clock.at(2026, 11, 3, 9, 0, )
    assert run_payouts().submitted == 0  # the back-off has not passed
    clock.at(2026, 11, 3, 9, 2)
    assert run_payouts().paid == 1
    assert Payout.objects.count() == 1
    assert check_ledger().ok


def test_a_day_without_calendar_stops_until_the_schedule_is_loaded(merchant_kit, clock, tmp_path):
    from django.core.management import call_command

    from daozhang.core.alerts import open_alerts

    clock.at(2026, 12, 31, 10, 0)
    merchant_kit.sale(10000)
    clock.at(2026, 12, 31, 23, 30)
    with pytest.raises(CalendarGap):
        run_settlement(D(2026, 12, 31))
    assert SettlementBatch.objects.count() == 0
    assert [a.key for a in open_alerts("calendar_gap")] == ["2027"]
    f = tmp_path / "2027.csv"
    f.write_text("date,type,name\n2027-01-01,holiday,元旦\n", encoding="utf-8")
    call_command("calendar", "load", str(f), "--force")  # only New Year matters here
    run_settlement(D(2026, 12, 31))
    assert SettlementBatch.objects.get().payout_date == D(2027, 1, 4)
    assert open_alerts("calendar_gap") == []


def test_frozen_funds_stay_out_until_released_and_adjustments_are_paid(merchant_kit, clock):
    from daozhang.audit.models import AuditEvent
    from daozhang.ledger.accounts import merchant_frozen
    from daozhang.risk.services import hold_funds, release_hold
    from daozhang.settlement.adjustments import adjust

    m = merchant_kit.merchant
    clock.at(2026, 11, 2, 10, 0)
    merchant_kit.sale(100000)  # net 99,500
    hold = hold_funds(merchant_id=m.id, amount=30000, case_ref="RK-1", reason="volume spike 交易量突增",
                      actor="staff:risk1")
    adjust(merchant_id=m.id, amount=-1900, reason="SIM data fee 流量费", actor="staff:finance1")
    assert -Account.objects.get(id=merchant_frozen(m.id).id).balance == 30000
    clock.settle(2026, 11, 2)
    b1 = SettlementBatch.objects.get(settlement_date=D(2026, 11, 2))
    assert (b1.figure("held_amount"), b1.figure("adjustments"), b1.net) == (30000, -1900, 99500 - 30000 - 1900)
    clock.at(2026, 11, 3, 10, 0)
    release_hold(hold_id=hold.id, note="receipts provided 已提供小票", actor="staff:risk2")
    clock.settle(2026, 11, 3)
    b2 = SettlementBatch.objects.get(settlement_date=D(2026, 11, 3))
    assert (b2.figure("released_amount"), b2.net, b2.status) == (30000, 30000, "due")
    assert Account.objects.get(id=merchant_frozen(m.id).id).balance == 0
    assert set(AuditEvent.objects.filter(merchant_id=m.id).values_list("action", flat=True)) >= {
        "risk.hold", "risk.release", "settlement.adjust"}
    assert check_ledger().ok
