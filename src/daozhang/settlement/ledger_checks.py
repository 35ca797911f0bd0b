"""What `ledger check` verifies of settlement against the ledger (ledger.checks).

Every batch that is not carried forward has its entry, and that entry owes the merchant
exactly the batch's net (its payout-due posting); every payout the bank accepted, paid or
returned has the entry of each step, for the payout's amount; a payout's amount is what its
batch's entry owes; every adjustment has its entry, for its amount; and every settlement
or payout entry names a row that exists. So a batch's `net` edited by SQL (issue 11: it
was paid and `ledger check` said OK) is found, and so is a payout for more than its entry.
"""

from __future__ import annotations

from daozhang.ledger.checks import (
    ENTRY_POSTINGS_ACCOUNTS,
    ConsistencyCheck,
    amount_differs,
    entry_without_row,
    missing_entry,
    ref_id,
)


def _payout_step(step: str, statuses: str) -> ConsistencyCheck:
    return missing_entry(f"settlement.payout_{step}_entry_missing", f"payouts {statuses} with no '{step}' entry",
                         table="settlement_payout", where=f"t.status IN ({statuses})",
                         key=f"'payout:' || daozhang_uuid_text(t.id) || ':{step}'", prefix="payout",
                         detail=f"'status ' || t.status || ', amount ' || t.amount || ': no {step} entry'")


def _payout_vs_batch(vendor: str) -> str:
    # The payout-due credit of the payout's batch's entry: what the merchant is owed for it.
    return (
        "SELECT 'payout:' || daozhang_uuid_text(t.id), 'amount ' || t.amount || ', its batch''s entry owes '"  # noqa: S608
        " || s.owed FROM settlement_payout t JOIN"
        " (SELECT e.merchant_id, e.business_ref,"
        " -SUM(CASE WHEN a.purpose = 'merchant_payout_due' THEN x.amount ELSE 0 END) AS owed"
        f" FROM {ENTRY_POSTINGS_ACCOUNTS} WHERE e.kind = 'settlement.batch'"
        " GROUP BY e.merchant_id, e.id, e.business_ref) s"
        f" ON t.merchant_id = s.merchant_id AND t.batch_id = {ref_id(vendor, 's.business_ref', 'batch')}"
        " WHERE t.amount <> s.owed"
    )


CHECKS = (
    missing_entry("settlement.batch_entry_missing", "batches (not carried forward) with no entry",
                  table="settlement_settlementbatch", where="t.status <> 'carried'",
                  match="e.business_ref = 'batch:' || daozhang_uuid_text(t.id) AND e.kind = 'settlement.batch'",
                  prefix="batch", detail="'status ' || t.status || ', net ' || t.net || ': no entry'"),
    amount_differs("settlement.batch_net", "batches whose net differs from what their entry owes the merchant",
                   kind="settlement.batch", purpose="merchant_payout_due", table="settlement_settlementbatch",
                   prefix="batch", expected="-t.net"),
    _payout_step("accepted", "'accepted', 'paid', 'returned'"),
    _payout_step("paid", "'paid'"),
    _payout_step("returned", "'returned'"),
    amount_differs("settlement.payout_amount", "payouts whose amount differs from their accepted entry",
                   kind="payout.accepted", purpose="merchant_payout_due", table="settlement_payout",
                   prefix="payout", expected="t.amount"),
    ConsistencyCheck("settlement.payout_vs_batch", "payouts whose amount differs from what their batch's entry owes",
                     _payout_vs_batch),
    missing_entry("settlement.adjustment_entry_missing", "adjustments with no entry",
                  table="settlement_adjustment", where="1 = 1",
                  # keyed by its approval when a second person approved it (settlement.adjustments)
                  key="CASE WHEN t.approval_id IS NULL THEN 'adjustment:' || daozhang_uuid_text(t.id)"
                      " ELSE 'adjustment-approval:' || daozhang_uuid_text(t.approval_id) END", prefix="adjustment",
                  detail="'amount ' || t.amount || ': no entry'"),
    amount_differs("settlement.adjustment_amount", "adjustments whose entry moves another amount",
                   kind="settlement.adjustment", purpose="merchant_payable", table="settlement_adjustment",
                   prefix="adjustment", expected="-t.amount"),
    entry_without_row("settlement.entry_without_batch", "batch entries whose batch does not exist",
                      kinds=("settlement.batch",), table="settlement_settlementbatch", prefix="batch"),
    entry_without_row("settlement.entry_without_payout", "payout entries whose payout does not exist",
                      kinds=("payout.accepted", "payout.paid", "payout.returned"), table="settlement_payout",
                      prefix="payout"),
    entry_without_row("settlement.entry_without_adjustment", "adjustment entries whose adjustment does not exist",
                      kinds=("settlement.adjustment",), table="settlement_adjustment", prefix="adjustment"),
)
