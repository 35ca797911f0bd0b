"""A first pass through the API: sale, void, reversal, ledger — on both databases."""

from __future__ import annotations

from daozhang.ledger.selectors import check_ledger, merchant_payable_balance
from daozhang.payments.models import Payment


def test_approved_chip_debit_sale_books_amount_minus_capped_fee(merchant_kit):
    r = merchant_kit.sale(500000, entry_mode="chip")  # 5,000 CNY debit: 0.5% = 25 CNY, capped 20
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "approved"
    assert body["fee"] == 2000 and body["net"] == 498000
    assert body["masked_pan"].startswith("622202") and "*" in body["masked_pan"]
    assert merchant_payable_balance(merchant_kit.merchant.id) == 498000
    assert check_ledger().ok


def test_void_and_reversal_undo_the_money(merchant_kit):
    sale = merchant_kit.sale(10000).json()
    v = merchant_kit.post(f"/api/v1/payments/{sale['id']}/void", {"terminal_id": merchant_kit.terminal.terminal_id})
    assert v.status_code == 200 and v.json()["status"] == "voided"
    other = merchant_kit.sale(20000).json()
    rev = merchant_kit.post("/api/v1/payments/reversal", {"terminal_id": merchant_kit.terminal.terminal_id,
                                                          "original_stan": other["stan"]})
    assert rev.status_code == 200 and rev.json()["outcome"] == "reversed"
    assert merchant_payable_balance(merchant_kit.merchant.id) == 0
    assert set(Payment.objects.values_list("status", flat=True)) == {"voided", "reversed"}
    assert check_ledger().ok
