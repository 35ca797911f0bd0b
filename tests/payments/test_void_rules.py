"""撤销 rules: same business day, same terminal, full amount, approved sales only."""

from __future__ import annotations

import datetime as dt

from daozhang.core import clock
from daozhang.ledger.selectors import merchant_payable_balance
from daozhang.payments.bulk import ImportedSale, import_sales
from daozhang.payments.models import Payment
from daozhang.terminals import services as terminals


def _void(kit, pid, tid=None):
    return kit.post(f"/api/v1/payments/{pid}/void", {"terminal_id": tid or kit.terminal.terminal_id})


def test_yesterdays_sale_cannot_be_voided(merchant_kit):
    yesterday = clock.now() - dt.timedelta(days=1)
    import_sales([ImportedSale(merchant_id=merchant_kit.merchant.id, terminal_pk=merchant_kit.terminal.id,
                               idempotency_key="y1", channel="card", entry_mode="chip", card_type="debit",
                               amount=5000, stan="000001", created_at=yesterday)])
    p = Payment.objects.get()
    r = _void(merchant_kit, p.id)
    assert r.status_code == 409 and r.json()["error"]["code"] == "void_not_allowed"
    assert "not today" in r.json()["error"]["message"]
    assert Payment.objects.get().status == "approved"


def test_void_from_another_terminal_of_the_same_merchant_is_refused(merchant_kit):
    t2 = terminals.register_terminal(serial_number="SN-OTHER-1", terminal_id="OTHER001", model="x", actor="t")
    terminals.bind_terminal(terminal_id=t2.id, merchant_id=merchant_kit.merchant.id, install_address="", actor="t")
    terminals.set_terminal_status(terminal_id=t2.id, status="active", actor="t")
    sale = merchant_kit.sale(7000).json()
    r = _void(merchant_kit, sale["id"], "OTHER001")
    assert r.status_code == 409 and r.json()["error"]["field"] == "terminal_id"
    assert merchant_payable_balance(merchant_kit.merchant.id) == 7000 - 35


def test_declined_or_reversed_sales_cannot_be_voided(merchant_kit):
    declined = merchant_kit.sale(7051).json()
    assert _void(merchant_kit, declined["id"]).status_code == 409
    sale = merchant_kit.sale(7000).json()
    merchant_kit.post("/api/v1/payments/reversal", {"terminal_id": merchant_kit.terminal.terminal_id,
                                                   "original_stan": sale["stan"]})
    r = _void(merchant_kit, sale["id"])
    assert r.status_code == 409 and "reversed" in r.json()["error"]["message"]
    assert merchant_payable_balance(merchant_kit.merchant.id) == 0
