"""Timeouts (单边账): an unknown card sale is reversed, an unknown wallet sale is confirmed
or closed — by the worker's periodic job, through the channel, never by a status edit."""

from __future__ import annotations

import pytest
from django_tasks_db.models import DBTaskResult

from daozhang.core import scheduler
from daozhang.core.models import IdempotencyRecord
from daozhang.ledger.models import Entry
from daozhang.ledger.selectors import check_ledger, merchant_payable_balance
from daozhang.payments.models import Payment, PaymentEvent, Reversal
from daozhang.payments.tasks import resolve_unknown_payments


@pytest.fixture(autouse=True)
def _no_wait(settings):
    settings.UNKNOWN_PAYMENT_REVERSAL_SECONDS = 0


def test_unknown_card_sale_is_reversed_and_never_booked(merchant_kit):
    r = merchant_kit.sale(6698)  # ends in 98: the card was debited, the terminal heard nothing
    assert r.status_code == 201 and r.json()["status"] == "unknown" and r.json()["response_code"] == "98"
    assert merchant_payable_balance(merchant_kit.merchant.id) == 0

    counts = resolve_unknown_payments.call()

    assert counts == {"reversed": 1}
    p = Payment.objects.get(id=r.json()["id"])
    assert p.status == "reversed"
    rev = Reversal.objects.get(payment=p)
    assert rev.source == "worker" and rev.outcome == "reversed"
    assert not Entry.objects.filter(business_ref=f"payment:{p.id}").exists()
    assert merchant_payable_balance(merchant_kit.merchant.id) == 0
    # Running the job again changes nothing.
    assert resolve_unknown_payments.call() == {}
    assert Reversal.objects.filter(payment=p).count() == 1


def test_unknown_wallet_sale_paid_late_is_confirmed_and_booked(merchant_kit):
    r = merchant_kit.sale(1898, channel="wechat", entry_mode="qr")
    assert r.json()["status"] == "unknown"

    assert resolve_unknown_payments.call() == {"approved": 1}

    p = Payment.objects.get(id=r.json()["id"])
    assert p.status == "approved" and p.fee == 7 and p.rrn  # 18.98 CNY at 0.38% = 7.2 fen -> 7
    assert PaymentEvent.objects.filter(payment=p, kind="confirmed").exists()
    assert merchant_payable_balance(merchant_kit.merchant.id) == 1898 - 7
    assert resolve_unknown_payments.call() == {}
    assert Entry.objects.filter(business_ref=f"payment:{p.id}").count() == 1
    assert check_ledger().ok


def test_unknown_wallet_sale_never_paid_is_closed(merchant_kit):
    r = merchant_kit.sale(1897, channel="alipay", entry_mode="qr")
    assert resolve_unknown_payments.call() == {"declined": 1}
    p = Payment.objects.get(id=r.json()["id"])
    assert p.status == "declined"
    assert PaymentEvent.objects.filter(payment=p, kind="closed").exists()
    assert merchant_payable_balance(merchant_kit.merchant.id) == 0


def test_during_an_outage_unknown_payments_wait(merchant_kit):
    from daozhang.channels.sandbox import set_outage

    r = merchant_kit.sale(2298, channel="wechat", entry_mode="qr")
    set_outage("wechat", True)
    assert resolve_unknown_payments.call() == {"unknown": 1}
    set_outage("wechat", False)
    assert resolve_unknown_payments.call() == {"approved": 1}
    assert Payment.objects.get(id=r.json()["id"]).status == "approved"


def test_terminal_reversal_before_the_worker_wins(merchant_kit):
    r = merchant_kit.sale(3398)
    rev = merchant_kit.post("/api/v1/payments/reversal", {"terminal_id": merchant_kit.terminal.terminal_id,
                                                         "original_stan": r.json()["stan"]})
    assert rev.json()["outcome"] == "reversed"
    assert resolve_unknown_payments.call() == {}
    assert Reversal.objects.filter(payment_id=r.json()["id"]).count() == 1


def test_scheduler_enqueues_each_slot_once(db):
    queued = DBTaskResult.objects.filter(task_path="daozhang.payments.tasks.resolve_unknown_payments")
    before = queued.count()
    assert "payments.resolve_unknown" in scheduler.tick(now=960_000.0)
    assert "payments.resolve_unknown" not in scheduler.tick(now=960_030.0)  # same 60 s slot
    assert "payments.resolve_unknown" in scheduler.tick(now=960_060.0)
    assert IdempotencyRecord.objects.filter(scope="scheduler", key__startswith="payments.resolve_unknown:").count() == 2
    assert queued.count() == before + 2
