"""What `ledger check` verifies of risk holds against the ledger (ledger.checks): every hold
has its entry, freezing exactly its amount; every released hold has its release entry; and
every hold entry names a hold that exists."""

from __future__ import annotations

from daozhang.ledger.checks import amount_differs, entry_without_row, missing_entry

CHECKS = (
    missing_entry("risk.hold_entry_missing", "holds with no entry", table="risk_riskhold", where="1 = 1",
                  key="'hold:' || daozhang_uuid_text(t.id)", prefix="hold",
                  detail="'amount ' || t.amount || ': no hold entry'"),
    missing_entry("risk.release_entry_missing", "released holds with no release entry", table="risk_riskhold",
                  where="t.released_at IS NOT NULL", key="'hold:' || daozhang_uuid_text(t.id) || ':release'",
                  prefix="hold", detail="'amount ' || t.amount || ': no release entry'"),
    amount_differs("risk.hold_amount", "holds whose entry freezes another amount", kind="risk.hold",
                   purpose="merchant_frozen", table="risk_riskhold", prefix="hold", expected="-t.amount"),
    entry_without_row("risk.entry_without_hold", "hold entries whose hold does not exist",
                      kinds=("risk.hold", "risk.release"), table="risk_riskhold", prefix="hold"),
)
