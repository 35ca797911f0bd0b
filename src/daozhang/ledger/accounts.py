"""The chart of accounts: named accounts and their fixed ids (docs/ledger.md).

Every named account has a deterministic id derived from its code, so a posting never
needs to look an account up. Hot platform accounts (channel receivables, fee income) are
split into `LEDGER_HOT_ACCOUNT_SHARDS` sub-accounts; a posting picks one at random, so
concurrent payments lock different rows. Their logical balance is the sum of the shards.

The constructors below are cached: a spec is a frozen value fixed by its arguments, and
the bulk paths ask for the same few shard accounts (and a merchant's accounts) thousands
of times a second; building the code string and the dataclass each time was a fifth of
an import's Python time.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from functools import lru_cache

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


def _merchant_code(merchant_id: uuid.UUID | str, name: str) -> str:
    return f"merchant:{merchant_id}:{name}"


def _merchant(merchant_id: uuid.UUID, name: str) -> AccountSpec:
    return AccountSpec(code=_merchant_code(merchant_id, name), purpose=f"merchant_{name}",
                       type=AccountType.LIABILITY, merchant_id=merchant_id)


def merchant_settlement_account_ids(merchant_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """The ids of the merchant's payable and payout-due accounts, without building their
    specs: a settlement run needs them for every merchant of the day, once."""
    text = str(merchant_id)
    return account_id_for(_merchant_code(text, "payable")), account_id_for(_merchant_code(text, "payout_due"))


def _platform(name: str, type_: str, shard: int, key: str = "") -> AccountSpec:
    return AccountSpec(code=f"platform:{name}:{key}{shard:02d}", purpose=name, type=type_, shard=shard)


def merchant_account_columns(merchant_text_sql: str, name: str) -> str:
    """SQL for the code, purpose and type of a merchant's account `name` (as `_merchant` makes
    them), given SQL of the merchant id's text form: for writers that post from a query."""
    code = "'" + _merchant_code(f"' || {merchant_text_sql} || '", name) + "'"  # the same format, as SQL
    return f"{code}, 'merchant_{name}', '{AccountType.LIABILITY.value}'"


@lru_cache(maxsize=65_536)
def merchant_payable(merchant_id: uuid.UUID) -> AccountSpec:
    """What the acquirer owes the merchant: sales net of fees, not yet settled."""
    return _merchant(merchant_id, "payable")


@lru_cache(maxsize=65_536)
def merchant_payout_due(merchant_id: uuid.UUID) -> AccountSpec:
    """Settled in a batch, owed to the merchant, not yet paid out (or returned by the bank)."""
    return _merchant(merchant_id, "payout_due")


@lru_cache(maxsize=65_536)
def merchant_frozen(merchant_id: uuid.UUID) -> AccountSpec:
    """Funds held by risk or compliance: owed, but not to be settled until released."""
    return _merchant(merchant_id, "frozen")


@lru_cache(maxsize=4_096)
def channel_receivable(channel: str, shard: int) -> AccountSpec:
    """What a card network or wallet owes the acquirer for approved sales."""
    return _platform("channel_receivable", AccountType.ASSET, shard, f"{channel}:")


@lru_cache(maxsize=4_096)
def fee_income(shard: int) -> AccountSpec:
    """Merchant service fees the acquirer has earned."""
    return _platform("fee_income", AccountType.INCOME, shard)


@lru_cache(maxsize=4_096)
def payouts_in_transit(shard: int) -> AccountSpec:
    """Payouts the bank has accepted and not yet confirmed paid or returned."""
    return _platform("payouts_in_transit", AccountType.LIABILITY, shard)


@lru_cache(maxsize=4_096)
def settlement_bank(shard: int) -> AccountSpec:
    """The acquirer's settlement account at its bank: payouts leave from here."""
    return _platform("settlement_bank", AccountType.ASSET, shard)


def pick_shard() -> int:
    return random.randrange(settings.LEDGER_HOT_ACCOUNT_SHARDS)  # noqa: S311 - load spreading, not security


def adjustments_account() -> AccountSpec:
    """The platform's side of manual adjustments (an expense when crediting merchants)."""
    return AccountSpec(code="platform:adjustments", purpose="adjustments", type=AccountType.EXPENSE)
