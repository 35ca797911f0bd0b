"""Every sandbox outcome, reached through the API, with what it does to the money."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from daozhang.ledger.models import Entry
from daozhang.ledger.selectors import merchant_payable_balance
from daozhang.payments.models import Payment


@pytest.mark.parametrize(
    ("amount", "status", "code"),
    [(10051, "declined", "51"), (10055, "declined", "55"), (10005, "declined", "05"),
     (10096, "failed", "96"), (10098, "unknown", "98"), (10097, "unknown", "98"), (10000, "approved", "00")],
)
@pytest.mark.parametrize("channel", ["card", "wechat", "alipay"])
def test_outcome_by_amount_is_recorded_with_its_code(merchant_kit, amount, status, code, channel):
    mode = "chip" if channel == "card" else "qr"
    r = merchant_kit.sale(amount, channel=channel, entry_mode=mode)
    assert r.status_code == 201
    body = r.json()
    assert (body["status"], body["response_code"]) == (status, code)
    p = Payment.objects.get(id=body["id"])
    assert p.response_message  # the reason is kept for the merchant and support
    booked = Entry.objects.filter(business_ref=f"payment:{p.id}").exists()
    assert booked == (status == "approved")
    assert merchant_payable_balance(merchant_kit.merchant.id) == (amount - body["fee"] if booked else 0)


def test_card_type_comes_from_the_bin(merchant_kit):
    from tests.conftest import CREDIT_CARD, DEBIT_CARD

    assert merchant_kit.sale(1000, pan=CREDIT_CARD).json()["card_type"] == "credit"
    assert merchant_kit.sale(1000, pan=DEBIT_CARD).json()["card_type"] == "debit"


def test_outage_switched_from_the_cli_fails_payments_without_moving_money(merchant_kit):
    call_command("sandbox", "outage", "alipay", "on")
    r = merchant_kit.sale(5000, channel="alipay", entry_mode="qr")
    assert (r.json()["status"], r.json()["response_code"]) == ("failed", "96")
    assert "outage" in Payment.objects.get(id=r.json()["id"]).response_message
    assert merchant_kit.sale(5000, channel="wechat", entry_mode="qr").json()["status"] == "approved"
    call_command("sandbox", "outage", "alipay", "off")
    assert merchant_kit.sale(5000, channel="alipay", entry_mode="qr").json()["status"] == "approved"
    assert merchant_payable_balance(merchant_kit.merchant.id) == 2 * (5000 - 19)


def test_void_during_an_outage_is_refused_and_the_sale_stays(merchant_kit):
    sale = merchant_kit.sale(8000).json()
    call_command("sandbox", "outage", "card", "on")
    r = merchant_kit.post(f"/api/v1/payments/{sale['id']}/void", {"terminal_id": merchant_kit.terminal.terminal_id})
    assert r.status_code == 503 and r.json()["error"]["code"] == "channel_unavailable"
    call_command("sandbox", "outage", "card", "off")
    assert Payment.objects.get(id=sale["id"]).status == "approved"
    assert merchant_payable_balance(merchant_kit.merchant.id) == 8000 - 40
