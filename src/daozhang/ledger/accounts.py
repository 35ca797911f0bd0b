"""The chart of accounts: named accounts and their fixed ids (docs/ledger.md).

Every named account has a deterministic id derived from its code, so a posting never
needs to look an account up. Hot platform accounts (channel receivables, fee income) are
split into `LEDGER_HOT_ACCOUNT_SHARDS` sub-accounts; a posting picks one at random, so
concurrent payments lock different rows. Their logical balance is the sum of the shards.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

from django.conf import settings

from daozhang.core.ids import account_id_for
from daozhang.ledger.models import AccountType


@dataclass(frozen=True, slots=True)
class AccountSpec:
    code: str
    purpose: str
    type: str
    merchant_id: uuid.UUID | None = None
    shard: int = 0
    currency: str = "CNY"

    @property
    def id(self) -> uuid.UUID:
        return account_id_for(self.code)


def merchant_payable(merchant_id: uuid.UUID) -> AccountSpec:
    """What the acquirer owes the merchant: sales net of fees, not yet paid out."""
    return AccountSpec(
        code=f"merchant:{merchant_id}:payable",
        purpose="merchant_payable",
        type=AccountType.LIABILITY,
        merchant_id=merchant_id,
    )


def channel_receivable(channel: str, shard: int) -> AccountSpec:
    """What a card network or wallet owes the acquirer for approved sales."""
    return AccountSpec(
        code=f"platform:channel_receivable:{channel}:{shard:02d}",
        purpose="channel_receivable",
        type=AccountType.ASSET,
        shard=shard,
    )


def fee_income(shard: int) -> AccountSpec:
    """Merchant service fees the acquirer has earned."""
    return AccountSpec(
        code=f"platform:fee_income:{shard:02d}",
        purpose="fee_income",
        type=AccountType.INCOME,
        shard=shard,
    )


def pick_shard() -> int:
    return random.randrange(settings.LEDGER_HOT_ACCOUNT_SHARDS)  # noqa: S311 - load spreading, not security


def merchant_payout_due(merchant_id: uuid.UUID) -> AccountSpec:
    """Settled in a batch, owed to the merchant, not yet paid out (or returned by the bank)."""
    return AccountSpec(
        code=f"merchant:{merchant_id}:payout_due",
        purpose="merchant_payout_due",
        type=AccountType.LIABILITY,
        merchant_id=merchant_id,
    )


def merchant_frozen(merchant_id: uuid.UUID) -> AccountSpec:
    """Funds held by risk or compliance: owed, but not to be settled until released."""
    return AccountSpec(
        code=f"merchant:{merchant_id}:frozen",
        purpose="merchant_frozen",
        type=AccountType.LIABILITY,
        merchant_id=merchant_id,
    )


def payouts_in_transit(shard: int) -> AccountSpec:
    """Payouts the bank has accepted and not yet confirmed paid or returned."""
    return AccountSpec(
        code=f"platform:payouts_in_transit:{shard:02d}",
        purpose="payouts_in_transit",
        type=AccountType.LIABILITY,
        shard=shard,
    )


def settlement_bank(shard: int) -> AccountSpec:
    """The acquirer's settlement account at its bank: payouts leave from here."""
    return AccountSpec(
        code=f"platform:settlement_bank:{shard:02d}",
        purpose="settlement_bank",
        type=AccountType.ASSET,
        shard=shard,
    )


def adjustments_account() -> AccountSpec:
    """The platform's side of manual adjustments (an expense when crediting merchants)."""
    return AccountSpec(code="platform:adjustments", purpose="adjustments", type=AccountType.EXPENSE)
