"""The chart of accounts: named accounts and their fixed ids (docs/ledger.md).

Every named account has a deterministic id derived from its code, so a posting never
needs to look an account up.

Every account belongs to one merchant, the platform's too: the platform's side of a
merchant's money (what the channel owes for its sales, the fees it paid, its payouts in
transit, the bank they leave from, its adjustments) is kept in that merchant's own
sub-accounts, `merchant:<id>:platform:<purpose>`. So every entry — sale, fee, settlement,
payout — is written wholly on one merchant's rows: no row is shared by two merchants'
payments (nothing to lock against each other, nothing to shard), and on a database
distributed by merchant (Citus) an entry is a single-shard, single-phase commit. A
platform total is the sum of its purpose over all merchants (`purpose_balance`).
Decision 0015 replaces the hot-account shards of decision 0002 this way.

The constructors below are cached: a spec is a frozen value fixed by its arguments, and
the bulk paths ask for the same merchant's accounts thousands of times a second;
building the code string and the dataclass each time was a fifth of an import's Python
time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache

from daozhang.core.ids import account_id_for
from daozhang.ledger.models import AccountType


@dataclass(frozen=True, slots=True)
class AccountSpec:
    code: str
    purpose: str
    type: str
    merchant_id: uuid.UUID
    currency: str = "CNY"

    @property
    def id(self) -> uuid.UUID:
        return account_id_for(self.code)


# name → (purpose, type) of each account every merchant may have.
_MERCHANT_OWN: dict[str, tuple[str, str]] = {
    "payable": ("merchant_payable", AccountType.LIABILITY.value),
    "payout_due": ("merchant_payout_due", AccountType.LIABILITY.value),
    "frozen": ("merchant_frozen", AccountType.LIABILITY.value),
}
_PLATFORM_SIDE: dict[str, str] = {
    "channel_receivable": AccountType.ASSET.value,
    "fee_income": AccountType.INCOME.value,
    "payouts_in_transit": AccountType.LIABILITY.value,
    "settlement_bank": AccountType.ASSET.value,
    "adjustments": AccountType.EXPENSE.value,
}


def _code(merchant_text: str, name: str) -> str:
    return f"merchant:{merchant_text}:{name}"


def _purpose_and_type(name: str) -> tuple[str, str]:
    if name in _MERCHANT_OWN:
        return _MERCHANT_OWN[name]
    purpose = name.removeprefix("platform:").partition(":")[0]
    return purpose, _PLATFORM_SIDE[purpose]


def _spec(merchant_id: uuid.UUID, name: str) -> AccountSpec:
    purpose, type_ = _purpose_and_type(name)
    return AccountSpec(code=_code(str(merchant_id), name), purpose=purpose, type=type_, merchant_id=merchant_id)


def account_columns_sql(merchant_text_sql: str, name: str) -> str:
    """SQL for the code, purpose and type of the merchant's account `name` (as the
    constructors below make them), given SQL of the merchant id's text form: for writers
    that post from a query (the settlement run)."""
    purpose, type_ = _purpose_and_type(name)
    code = "'" + _code(f"' || {merchant_text_sql} || '", name) + "'"  # the same format, as SQL
    return f"{code}, '{purpose}', '{type_}'"


def settlement_account_ids(merchant_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """The ids of the merchant's payable, payout-due and fee-income accounts, without
    building their specs: a settlement run needs them for every merchant of the day, once."""
    text = str(merchant_id)
    return (account_id_for(_code(text, "payable")), account_id_for(_code(text, "payout_due")),
            account_id_for(_code(text, "platform:fee_income")))


@lru_cache(maxsize=65_536)
def merchant_payable(merchant_id: uuid.UUID) -> AccountSpec:
    """What the acquirer owes the merchant: sales net of fees, not yet settled."""
    return _spec(merchant_id, "payable")


@lru_cache(maxsize=65_536)
def merchant_payout_due(merchant_id: uuid.UUID) -> AccountSpec:
    """Settled in a batch, owed to the merchant, not yet paid out (or returned by the bank)."""
    return _spec(merchant_id, "payout_due")


@lru_cache(maxsize=65_536)
def merchant_frozen(merchant_id: uuid.UUID) -> AccountSpec:
    """Funds held by risk or compliance: owed, but not to be settled until released."""
    return _spec(merchant_id, "frozen")


@lru_cache(maxsize=65_536)
def channel_receivable(merchant_id: uuid.UUID, channel: str) -> AccountSpec:
    """What a card network or wallet owes the acquirer for this merchant's approved sales."""
    return _spec(merchant_id, f"platform:channel_receivable:{channel}")


@lru_cache(maxsize=65_536)
def fee_income(merchant_id: uuid.UUID) -> AccountSpec:
    """Service fees (and D0 settlement fees) the acquirer has earned from this merchant."""
    return _spec(merchant_id, "platform:fee_income")


@lru_cache(maxsize=65_536)
def payouts_in_transit(merchant_id: uuid.UUID) -> AccountSpec:
    """This merchant's payouts the bank has accepted and not yet confirmed paid or returned."""
    return _spec(merchant_id, "platform:payouts_in_transit")


@lru_cache(maxsize=65_536)
def settlement_bank(merchant_id: uuid.UUID) -> AccountSpec:
    """The acquirer's settlement account at its bank, as far as this merchant's payouts
    left it: the bank account's movement is the sum over merchants."""
    return _spec(merchant_id, "platform:settlement_bank")


@lru_cache(maxsize=65_536)
def adjustments_account(merchant_id: uuid.UUID) -> AccountSpec:
    """The platform's side of this merchant's manual adjustments (an expense when crediting it)."""
    return _spec(merchant_id, "platform:adjustments")


def platform_side(merchant_id: uuid.UUID, purpose: str, channel: str = "") -> AccountSpec:
    """The merchant's sub-account of a platform `purpose` (and channel, for receivables):
    where a reversal of an entry written on the old shared accounts posts (ledger 0011)."""
    return _spec(merchant_id, f"platform:{purpose}" + (f":{channel}" if channel else ""))
