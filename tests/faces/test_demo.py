"""The demo month: loaded, settled and paid (returns included) with the ledger exact; idempotent."""

from __future__ import annotations

from django.core.management import call_command

from daozhang.ledger.selectors import check_ledger
from daozhang.payments.models import Payment
from daozhang.settlement.models import Payout, SettlementBatch


def test_demo_month_settles_and_pays_with_the_ledger_exact(db, capsys):
    call_command("demo", "--days", "28")
    out = capsys.readouterr().out
    assert "merchant login" in out and "dzk_demo_" in out
    assert set(Payment.objects.values_list("channel", flat=True)) == {"card", "wechat", "alipay"}
    assert set(Payment.objects.values_list("entry_mode", flat=True)) == {"chip", "swipe", "contactless", "qr"}
    assert {"approved", "declined", "failed", "voided", "reversed"} <= set(
        Payment.objects.values_list("status", flat=True))
    assert SettlementBatch.objects.filter(status="paid").exists()
    assert Payout.objects.filter(status="returned", return_code="R01").exists()
    assert check_ledger().ok
    counts = (Payment.objects.count(), SettlementBatch.objects.count(), Payout.objects.count())
    call_command("demo", "--days", "28")
    assert (Payment.objects.count(), SettlementBatch.objects.count(), Payout.objects.count()) == counts
    assert check_ledger().ok
