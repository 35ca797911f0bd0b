"""The bank that executes payouts, behind one interface like the payment channels."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class BankUnavailable(Exception):
    """The bank did not take the request (outage, timeout): nothing was sent; retry later."""


class TransferState(enum.StrEnum):
    ACCEPTED = "accepted"  # taken, not final yet
    PAID = "paid"  # credited to the payee: arrived (到账)
    RETURNED = "returned"  # refused or bounced: the money is back with us
    UNKNOWN = "unknown"  # the bank has no transfer with this id


@dataclass(frozen=True, slots=True)
class PayeeAccount:
    holder_name: str
    account_number: str
    bank_name: str
    account_type: str


@dataclass(frozen=True, slots=True)
class TransferResult:
    state: TransferState
    bank_ref: str = ""
    return_code: str = ""
    reason: str = ""


RETURN_REASONS = {
    "R01": ("Account holder name does not match", "户名不符", "Correct the holder name to exactly the name the bank "
            "has for this account / 请将户名改为与银行开户名一致"),
    "R02": ("Account closed", "账户已销户", "Give an open account / 请更换为正常状态的账户"),
    "R03": ("Account number does not exist", "账号不存在", "Check the account number / 请核对账号"),
    "R04": ("Type-II account daily limit exceeded", "二类账户超过日限额",
            "Give a type-I account or a corporate account / 请更换为一类账户或对公账户"),
}


class Bank(Protocol):
    """Banks take payouts as batches (a payout file or a batch API), so the interface does too."""

    def transfer_many(self, items: list[tuple[uuid.UUID, int, PayeeAccount]]) -> None:
        """Hand over (payout id, amount, payee) transfers. Idempotent by payout id: sending
        the same id twice pays once. Raises BankUnavailable when nothing was taken."""
        ...

    def status_many(self, payout_ids: list[uuid.UUID]) -> dict[uuid.UUID, TransferResult]:
        """The bank's state of each transfer (UNKNOWN for ids it never received)."""
        ...

    def verify(self, payee: PayeeAccount) -> TransferResult:
        """Account verification (name + number): PAID means verified, RETURNED carries why not."""
        ...


@cache
def get_bank() -> Bank:
    bank: Bank = import_string(settings.BANK_BACKEND)()
    return bank
