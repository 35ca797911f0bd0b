"""Which rate a payment pays under its merchant's fee plan (docs/money.md#fee-plans).

Rounding is `core.money.apply_rate`: half up to the fen, then the cap.
"""

from __future__ import annotations

from dataclasses import dataclass

from daozhang.core.money import apply_rate
from daozhang.merchants.models import FeePlan


@dataclass(frozen=True, slots=True)
class Fee:
    fen: int
    rule: str  # shown on statements: which line of the plan applied


def fee_for(plan: FeePlan, *, channel: str, entry_mode: str, card_type: str, amount_fen: int) -> Fee:
    if channel in ("wechat", "alipay"):
        return Fee(apply_rate(amount_fen, plan.wallet_rate_ppm), "wallet")
    # Only contactless QuickPass within the limit gets the discount; chip or swipe never.
    if entry_mode == "contactless" and amount_fen <= plan.quickpass_limit_fen:
        return Fee(apply_rate(amount_fen, plan.quickpass_rate_ppm), "quickpass")
    if card_type == "credit":
        return Fee(apply_rate(amount_fen, plan.credit_rate_ppm, plan.credit_cap_fen), "credit")
    return Fee(apply_rate(amount_fen, plan.debit_rate_ppm, plan.debit_cap_fen), "debit")
