"""Issue 11, items 3, 4 and the payout cool-off of item 2: what may change between a payout
attempt being made and being sent is checked again under the lock before each send, the
amount comes from the ledger, and staff can cancel an attempt the bank has not accepted.
Through the services, the console pages and the database, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse

from daozhang.audit.models import AuditEvent
from daozhang.channels.models import SandboxBankTransfer
from daozhang.channels.sandbox import set_outage
from daozhang.core.alerts import open_alerts
from daozhang.core.errors import DomainError
from daozhang.ledger.accounts import merchant_payout_due
from daozhang.ledger.selectors import check_ledger
from daozhang.merchants import services as merchants
from daozhang.merchants.models import SettlementAccount
from daozhang.settlement.accounts import verify_account_change
from daozhang.settlement.models import BatchStatus, Payout, PayoutStatus, SettlementBatch
from daozhang.settlement.payouts import cancel_payout, hold_batch, run_payouts, start_payout, submit
from daozhang.tracing.trace import trace_batch
from tests.account_helpers import change_account
from tests.faces.test_console import login
from tests.faces.test_console import staff as staff  # the console tests' fixture, shared
from tests.settlement_helpers import SH, Clock


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def _settled(kit, clock, amount=30000):
    """A sale on 11-02, settled that night: one batch due on 11-03."""
    clock.at(2026, 11, 2, 10, 0)
    kit.sale(amount)
    clock.settle(2026, 11, 2)
    return SettlementBatch.objects.get(merchant=kit.merchant)


def _retrying(kit, clock):
    """The batch's payout failed on a bank outage and waits to be retried."""
    b = _settled(kit, clock)
    set_outage("bank", True)
    try:
        assert clock.pay(2026, 11, 3).retrying == 1
    finally:
        set_outage("bank", False)
    return b, Payout.objects.get(batch=b)


def _change_account(kit, number="6222000011119999", holder=None):
    account = change_account(kit.merchant, merchants.BankAccountInput(  # the owner's code (+ review), then the bank
        holder_name=holder or kit.merchant.legal_name, account_number=number, bank_name="工商银行",
        account_type="corporate"))
    return verify_account_change(account_id=account.id)


def _took_effect(account, at):
    """The moment the new account took effect (`verified_at`), as the clock of the test sees it."""
    SettlementAccount.objects.filter(id=account.id).update(verified_at=at)


# --- item 3: re-checked under the lock before each send ------------------------------------


def test_a_retrying_payout_to_a_merchant_suspended_meanwhile_is_not_paid_when_the_bank_is_back(merchant_kit, clock):
    """The issue's attack: bank outage → payout retrying → merchant suspended → bank back."""
    b, p = _retrying(merchant_kit, clock)
    merchants.set_merchant_status(merchant_id=merchant_kit.merchant.id, status="suspended", actor="staff:risk",
                                  reason="fraud review")
    clock.at(2026, 11, 3, 12, 0)
    r = run_payouts()
    assert (r.submitted, r.paid, r.stopped) == (0, 0, 1)
    p.refresh_from_db()
    b.refresh_from_db()
    assert (p.status, p.stop_reason, p.stopped_by) == ("stopped", "merchant_not_active", "system:payout-checks")
    assert b.status == BatchStatus.HELD  # a person decides: re-pay once the review is over
    assert not SandboxBankTransfer.objects.exists()  # nothing ever reached the bank
    ev = AuditEvent.objects.get(action="payout.stopped")
    assert ev.after["reason"] == "merchant_not_active" and ev.after["batch_status"] == "held"
    assert run_payouts().submitted == 0  # and no later run sends it either
    assert check_ledger().ok


def test_a_hold_while_the_payout_retries_works_and_the_retry_is_not_sent(merchant_kit, clock):
    b, p = _retrying(merchant_kit, clock)
    hold_batch(batch_id=b.id, actor="staff:finance", reason="compliance check")  # refused "in flight" before
    clock.at(2026, 11, 3, 12, 0)
    assert run_payouts().stopped == 1
    p.refresh_from_db()
    assert (p.status, p.stop_reason) == ("stopped", "batch_not_due")
    assert SettlementBatch.objects.get(id=b.id).status == BatchStatus.HELD
    assert not SandboxBankTransfer.objects.exists()


def test_an_attempt_whose_account_changed_after_it_was_made_goes_to_the_new_account(merchant_kit, clock, settings):
    settings.PAYOUT_COOLOFF_HOURS = 0  # the account check alone (the cool-off: below)
    b, p = _retrying(merchant_kit, clock)
    new = _change_account(merchant_kit)
    clock.at(2026, 11, 3, 12, 0)
    r = run_payouts()
    p.refresh_from_db()
    assert (p.status, p.stop_reason) == ("stopped", "account_changed")
    assert (r.stopped, r.paid) == (1, 0)
    assert run_payouts().paid == 1  # the next run makes a new attempt, to the current account
    second = Payout.objects.get(batch=b, attempt=2)
    assert (second.status, second.account_id) == ("paid", new.id)
    assert SandboxBankTransfer.objects.count() == 1


def test_a_payout_attempt_for_an_unverified_account_is_not_sent(merchant_kit, clock):
    b = _settled(merchant_kit, clock)
    clock.at(2026, 11, 3, 9, 0)
    p = start_payout(b)
    SettlementAccount.objects.filter(merchant=merchant_kit.merchant).update(verified_at=None)
    assert submit(p) == "stopped"
    p.refresh_from_db()
    assert p.stop_reason == "account_not_verified" and not SandboxBankTransfer.objects.exists()
    assert SettlementBatch.objects.get(id=b.id).status == BatchStatus.DUE


# --- staff cancel an attempt the bank has not accepted ----------------------------------------


def test_staff_cancel_a_retrying_attempt_once_audited_and_the_batch_is_held(merchant_kit, clock, staff):
    b, p = _retrying(merchant_kit, clock)
    page = login(staff("finance")).get(reverse("console:payouts") + "?state=retrying").content.decode()
    assert f'id="cancel-{p.id}"' in page
    url = reverse("console:payout_cancel", args=[p.id])
    assert login(staff("cs")).post(url, {"reason": "x"}).status_code == 403  # no permission
    assert Payout.objects.get(id=p.id).status == PayoutStatus.RETRYING
    c = login(staff("finance"))
    form = c.get(url).content.decode()
    assert 'id="cancel-submit"' in form and "撤销" in form
    token = form.split('name="form_token" value="')[1].split('"')[0]
    for _ in range(2):  # a double click: one cancel
        r = c.post(url, {"reason": "customer asked to stop", "then": "held", "form_token": token})
        assert r.status_code == 302
    p.refresh_from_db()
    assert (p.status, p.stop_reason, p.stop_detail) == ("stopped", "cancelled", "customer asked to stop")
    assert p.stopped_by.startswith("staff:")
    assert SettlementBatch.objects.get(id=b.id).status == BatchStatus.HELD
    [ev] = AuditEvent.objects.filter(action="payout.cancel")
    assert ev.before["status"] == "retrying" and ev.after["batch_status"] == "held"
    # The service called again: nothing happens twice.
    assert cancel_payout(payout_id=p.id, actor="staff:other", reason="again").stopped_by == p.stopped_by
    assert AuditEvent.objects.filter(action="payout.cancel").count() == 1
    clock.at(2026, 11, 3, 12, 0)
    assert run_payouts().submitted == 0 and not SandboxBankTransfer.objects.exists()


def test_a_cancelled_attempt_left_due_is_paid_by_a_new_attempt(merchant_kit, clock):
    b, p = _retrying(merchant_kit, clock)
    cancel_payout(payout_id=p.id, actor="staff:finance", reason="retry now", then="due")
    assert SettlementBatch.objects.get(id=b.id).status == BatchStatus.DUE
    clock.at(2026, 11, 3, 12, 0)
    assert run_payouts().paid == 1
    assert list(Payout.objects.filter(batch=b).order_by("attempt").values_list("status", flat=True)) == [
        "stopped", "paid"]


def test_an_accepted_attempt_cannot_be_cancelled(merchant_kit, clock, staff):
    b = _settled(merchant_kit, clock)
    clock.at(2026, 11, 3, 9, 0)
    p = start_payout(b)
    assert submit(p) == PayoutStatus.ACCEPTED
    with pytest.raises(DomainError) as err:
        cancel_payout(payout_id=p.id, actor="staff:finance", reason="too late")
    assert err.value.code == "payout_accepted" and err.value.status == 409
    assert "cannot be cancelled" in err.value.message("en") and "无法撤销" in err.value.message("zh-hans")
    c = login(staff("finance"))
    url = reverse("console:payout_cancel", args=[p.id])
    assert 'id="action-blocked"' in c.get(url).content.decode()
    r = c.post(url, {"reason": "too late", "then": "held"})
    assert r.status_code == 400 and "无法撤销" in r.content.decode()
    assert Payout.objects.get(id=p.id).status == PayoutStatus.ACCEPTED


def test_an_attempt_cannot_be_cancelled_while_the_bank_cannot_say_whether_it_has_it(merchant_kit, clock):
    _, p = _retrying(merchant_kit, clock)
    set_outage("bank", True)
    try:
        with pytest.raises(DomainError) as err:
            cancel_payout(payout_id=p.id, actor="staff:finance", reason="stop")
    finally:
        set_outage("bank", False)
    assert err.value.code == "payout_bank_unreachable"
    assert Payout.objects.get(id=p.id).status == PayoutStatus.RETRYING


# --- item 2: the cool-off after an account change ----------------------------------------------


def test_no_payout_during_the_cool_off_after_an_account_change(merchant_kit, clock, staff, settings):
    settings.PAYOUT_COOLOFF_HOURS = 24
    b = _settled(merchant_kit, clock)
    changed = _change_account(merchant_kit)
    _took_effect(changed, dt.datetime(2026, 11, 3, 8, 0, tzinfo=SH))
    assert clock.pay(2026, 11, 3, 9, 0).submitted == 0
    assert not Payout.objects.exists()
    page = login(staff("finance")).get(reverse("console:payouts")).content.decode()
    assert f'id="batch-{b.id}"' not in page or "冷静期" in page
    row_page = login(staff("finance")).get(reverse("console:batch_hold", args=[b.id])).content.decode()
    assert "2026-11-04 08:00" in row_page and "冷静期" in row_page
    notes = trace_batch(merchant_kit.merchant, b.id).render("en")["notes"]
    assert any("waiting for the cool-off until 2026-11-04 08:00" in n["explanation"] for n in notes)
    zh = trace_batch(merchant_kit.merchant, b.id).render("zh-hans")["notes"]
    assert any("冷静期至 2026-11-04 08:00" in n["explanation"] for n in zh)
    assert clock.pay(2026, 11, 4, 7, 59).submitted == 0
    assert clock.pay(2026, 11, 4, 8, 1).paid == 1
    assert Payout.objects.get().account_id == changed.id


def test_an_attempt_made_before_a_change_is_stopped_by_the_cool_off(merchant_kit, clock, settings):
    settings.PAYOUT_COOLOFF_HOURS = 24
    b, p = _retrying(merchant_kit, clock)
    changed = _change_account(merchant_kit)
    _took_effect(changed, dt.datetime(2026, 11, 3, 11, 0, tzinfo=SH))
    clock.at(2026, 11, 3, 12, 0)
    assert run_payouts().stopped == 1
    p.refresh_from_db()
    assert p.stop_reason == "account_changed" and SettlementBatch.objects.get(id=b.id).status == BatchStatus.DUE
    assert not SandboxBankTransfer.objects.exists()
    assert clock.pay(2026, 11, 4, 11, 1).paid == 1


def test_the_first_account_has_no_cool_off_and_zero_switches_it_off(merchant_kit, clock, settings):
    settings.PAYOUT_COOLOFF_HOURS = 24
    SettlementAccount.objects.filter(merchant=merchant_kit.merchant).update(
        verified_at=dt.datetime(2026, 11, 3, 8, 0, tzinfo=SH))  # onboarded this morning
    _settled(merchant_kit, clock)
    assert clock.pay(2026, 11, 3, 9, 0).paid == 1


# --- item 4: the amount comes from the ledger --------------------------------------------------


def _sql(statement, params):
    with connection.cursor() as cur:
        cur.execute(statement, params)


def _batch_id_param(b):
    return b.id.hex if connection.vendor == "sqlite" else b.id


def test_a_million_yuan_written_into_the_batch_net_by_sql_is_not_paid_and_alerts(merchant_kit, clock):
    b = _settled(merchant_kit, clock)
    _sql("UPDATE settlement_settlementbatch SET net = net + %s WHERE id = %s", [100_000_000, _batch_id_param(b)])
    r = clock.pay(2026, 11, 3)
    assert (r.submitted, r.paid, r.stopped) == (0, 0, 1)
    p = Payout.objects.get()
    assert p.amount == 30000 - 150  # the attempt was made for what the ledger owes, not the column
    assert (p.status, p.stop_reason) == ("stopped", "ledger_mismatch")
    assert SettlementBatch.objects.get(id=b.id).status == BatchStatus.HELD
    assert not SandboxBankTransfer.objects.exists()
    [alert] = open_alerts("payout_ledger")
    assert alert.key == str(b.id) and "recorded net differs" in alert.message_en and "不符" in alert.message_zh
    result = check_ledger()  # nothing was booked: the books balance, and the check names the edited batch
    assert not result.unbalanced_entries and not result.wrong_balances
    assert [f.ref for f in result.findings] == [f"batch:{b.id}"] and result.finding_counts["settlement.batch_net"] == 1


def test_a_payout_that_would_drive_payout_due_into_debit_is_refused_and_alerts(merchant_kit, clock):
    b = _settled(merchant_kit, clock)
    # The merchant's payout-due balance falls short of the batch (a credit of 298.50 becomes 1.00).
    _sql("UPDATE ledger_account SET balance = %s WHERE id = %s",
         [-100, merchant_payout_due(merchant_kit.merchant.id).id.hex if connection.vendor == "sqlite"
          else merchant_payout_due(merchant_kit.merchant.id).id])
    assert clock.pay(2026, 11, 3).stopped == 1
    p = Payout.objects.get()
    assert p.stop_reason == "payout_due_overdrawn" and not SandboxBankTransfer.objects.exists()
    assert SettlementBatch.objects.get(id=b.id).status == BatchStatus.HELD
    assert open_alerts("payout_ledger")[0].key == str(b.id)


def test_a_paid_batch_made_due_again_by_sql_is_not_paid_twice(merchant_kit, clock):
    b = _settled(merchant_kit, clock)
    assert clock.pay(2026, 11, 3).paid == 1
    _sql("UPDATE settlement_settlementbatch SET status = 'due' WHERE id = %s", [_batch_id_param(b)])
    r = clock.pay(2026, 11, 3, 10, 0)
    assert (r.paid, r.stopped) == (0, 1)
    assert Payout.objects.get(attempt=2).stop_reason in ("nothing_owed", "ledger_mismatch")
    assert SandboxBankTransfer.objects.count() == 1
