"""A deterministic sandbox bank for payouts (docs/sandbox.md).

Accounts registered in `SandboxBankAccount` behave as registered (holder name, closed,
type-II); any other account behaves by the last four digits of its number:
0002 closed (R02), 0003 does not exist (R03), 0004 a type-II account that returns more
than 10,000 CNY a day (R04); everything else pays. Transfers are taken in batches; one is
final (paid or returned) when its status is asked, like a real bank's asynchronous answer.
An outage fault on channel "bank" makes every call raise BankUnavailable.

The bank keeps no account number in clear, sandbox or not (a personal account is a debit
card number): accounts and transfers carry a keyed hash (PAN_TOKEN_KEY) and a masked form.
"""

from __future__ import annotations

import base64
import hashlib
import uuid

from daozhang.channels.bank import RETURN_REASONS, BankUnavailable, PayeeAccount, TransferResult, TransferState
from daozhang.channels.models import SandboxBankAccount, SandboxBankTransfer, account_digest, masked_account
from daozhang.channels.sandbox import outage_active

TYPE_II_DAILY_LIMIT_FEN = 1_000_000


def _judge(amount_fen: int | None, payee: PayeeAccount, known: SandboxBankAccount | None) -> tuple[str, str]:
    """("", "") when the bank would pay, else (return code, reason)."""

    def ret(code: str) -> tuple[str, str]:
        en, zh, _ = RETURN_REASONS[code]
        return code, f"{en} / {zh}"

    number = payee.account_number
    if known is not None:
        if known.closed:
            return ret("R02")
        if known.holder_name != payee.holder_name:
            return ret("R01")
        type_ii = known.type_ii
    else:
        if number.endswith("0003"):
            return ret("R03")
        if number.endswith("0002"):
            return ret("R02")
        type_ii = number.endswith("0004")
    if type_ii and amount_fen is not None and amount_fen > TYPE_II_DAILY_LIMIT_FEN:
        return ret("R04")
    return "", ""


def _registry(numbers: set[str]) -> dict[str, SandboxBankAccount]:
    """The registered accounts among `numbers`, by number (looked up by keyed hash)."""
    by_hash = {account_digest(n): n for n in numbers}
    return {by_hash[a.account_hash]: a for a in SandboxBankAccount.objects.filter(account_hash__in=list(by_hash))}


def _bank_ref(payout_id: uuid.UUID) -> str:
    """The bank's reference of a transfer, fixed by the payout id. Base32 (A–Z, 2–7), not
    hex: eighteen hex characters now and then held a run of digits that passes as a card
    number (Luhn), and the refs are shown and stored everywhere a card number must not be."""
    return "BK" + base64.b32encode(hashlib.sha256(str(payout_id).encode()).digest()).decode()[:18]


class SandboxBank:
    def transfer_many(self, items: list[tuple[uuid.UUID, int, PayeeAccount]]) -> None:
        if outage_active("bank"):
            raise BankUnavailable("sandbox bank outage")
        known = _registry({payee.account_number for _, _, payee in items})
        rows = []
        for payout_id, amount_fen, payee in items:
            code, reason = _judge(amount_fen, payee, known.get(payee.account_number))
            rows.append(SandboxBankTransfer(
                payout_id=payout_id, amount=amount_fen, account_hash=account_digest(payee.account_number),
                account_masked=masked_account(payee.account_number), holder_name=payee.holder_name,
                return_code=code, reason=reason,
                bank_ref=_bank_ref(payout_id)))
        # The same payout sent again: the bank already has it and ignores the copy.
        SandboxBankTransfer.objects.bulk_create(rows, ignore_conflicts=True)

    def status_many(self, payout_ids: list[uuid.UUID]) -> dict[uuid.UUID, TransferResult]:
        if outage_active("bank"):
            raise BankUnavailable("sandbox bank outage")
        found = {t.payout_id: t for t in SandboxBankTransfer.objects.filter(payout_id__in=payout_ids)}
        out: dict[uuid.UUID, TransferResult] = {}
        for pid in payout_ids:
            t = found.get(pid)
            if t is None:
                out[pid] = TransferResult(TransferState.UNKNOWN)
            elif t.return_code:
                out[pid] = TransferResult(TransferState.RETURNED, t.bank_ref, t.return_code, t.reason)
            else:
                out[pid] = TransferResult(TransferState.PAID, t.bank_ref)
        return out

    def verify(self, payee: PayeeAccount) -> TransferResult:
        if outage_active("bank"):
            raise BankUnavailable("sandbox bank outage")
        code, reason = _judge(None, payee, _registry({payee.account_number}).get(payee.account_number))
        if code:
            return TransferResult(TransferState.RETURNED, return_code=code, reason=reason)
        return TransferResult(TransferState.PAID)
