"""What `ledger check` verifies of payments against the ledger (ledger.checks).

A payment that took money (approved, or voided or reversed after approval) has its sale
entry, and the entry of its undoing; a payment that took none (declined, failed, unknown)
has none; a sale entry moves exactly the payment's amount, less its fee to the merchant;
and every payment entry names a payment that exists. So deleting a sale entry together
with its postings and balances, which leaves a ledger balanced in itself, is found here.
"""

from __future__ import annotations

from daozhang.ledger.checks import ConsistencyCheck, amount_differs, entry_without_row, missing_entry, uuid_ref

_SALE_KEY = "'payment:' || daozhang_uuid_text(t.id) || ':sale'"
_DETAIL = "'status ' || t.status || ', amount ' || t.amount"

CHECKS = (
    missing_entry("payments.sale_entry_missing", "approved or voided payments with no sale entry",
                  table="payments_payment", where="t.status IN ('approved', 'voided')", key=_SALE_KEY,
                  prefix="payment", detail=_DETAIL + " || ': no sale entry'"),
    missing_entry("payments.void_entry_missing", "voided payments with no void entry",
                  table="payments_payment", where="t.status = 'voided'",
                  key="'payment:' || daozhang_uuid_text(t.id) || ':void'",
                  prefix="payment", detail=_DETAIL + " || ': no void entry'"),
    missing_entry("payments.reversal_entry_missing", "reversed payments whose sale was booked, with no reversal entry",
                  table="payments_payment",
                  where=f"t.status = 'reversed' AND EXISTS (SELECT 1 FROM ledger_entry s WHERE s.merchant_id = t.merchant_id AND s.idempotency_key = {_SALE_KEY})",  # noqa: E501, S608
                  key="'payment:' || daozhang_uuid_text(t.id) || ':reversal'",
                  prefix="payment", detail=_DETAIL + " || ': no reversal entry'"),
    ConsistencyCheck(
        "payments.sale_entry_unexpected", "declined, failed or unknown payments with a sale entry",
        f"SELECT {uuid_ref('payment', 't.id')}, {_DETAIL} || ': booked as a sale'"  # noqa: S608 - constants
        " FROM payments_payment t WHERE t.status IN ('declined', 'failed', 'unknown')"
        " AND EXISTS (SELECT 1 FROM ledger_entry e"
        f" WHERE e.merchant_id = t.merchant_id AND e.idempotency_key = {_SALE_KEY})"),
    amount_differs("payments.sale_entry_amount", "sale entries that do not credit the merchant the amount less the fee",
                   kind="payment.sale", purpose="merchant_payable", table="payments_payment", prefix="payment",
                   expected="t.fee - t.amount"),
    entry_without_row("payments.entry_without_payment", "payment entries whose payment does not exist",
                      kinds=("payment.sale", "payment.void", "payment.reversal"), table="payments_payment",
                      prefix="payment"),
)
