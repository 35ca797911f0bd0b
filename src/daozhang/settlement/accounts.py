"""A merchant's new settlement account: verified with the bank, then its returned payouts re-paid.

Here, not in merchants: applying a verified account sends the merchant's returned batches
back to the payout queue in the same transaction, and batches are settlement's.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from daozhang.audit import services as audit
from daozhang.channels.bank import PayeeAccount, TransferState, get_bank
from daozhang.core.events import emit
from daozhang.merchants.models import SettlementAccount
from daozhang.settlement.models import BatchStatus, SettlementBatch


def verify_account_change(*, account_id: uuid.UUID, actor: str = "system:bank-verification") -> SettlementAccount:
    """Ask the bank to verify a pending account; apply it, or reject it with the bank's reason."""
    account = SettlementAccount.objects.select_related("merchant").get(id=account_id)
    if account.verified_at or account.rejected_at:
        return account
    answer = get_bank().verify(PayeeAccount(account.holder_name, account.account_number, account.bank_name,
                                            account.account_type))  # BankUnavailable: stays pending, retried
    if answer.state == TransferState.ACCEPTED:
        return account  # no verdict (the file bank cannot verify): stays pending until staff verify it
    merchant = account.merchant
    with transaction.atomic():
        locked = SettlementAccount.objects.select_for_update().get(id=account.id)
        if locked.verified_at or locked.rejected_at:
            return locked
        if answer.state != TransferState.PAID:
            locked.rejected_at, locked.rejection_reason = timezone.now(), answer.reason[:200]
            locked.save(update_fields=["rejected_at", "rejection_reason"])
            audit.record(actor=actor, action="settlement_account.rejected", obj_type="settlement_account",
                         obj_id=locked.id, merchant_id=merchant.id, after={"reason": answer.reason})
            emit("account_rejected", merchant_id=merchant.id,
                 data={"account_id": str(locked.id), "reason": answer.reason})
            return locked
        SettlementAccount.objects.filter(merchant=merchant, is_current=True).update(is_current=False)
        locked.is_current, locked.verified_at = True, timezone.now()
        locked.save(update_fields=["is_current", "verified_at"])
        repaid = SettlementBatch.objects.filter(merchant=merchant, status=BatchStatus.RETURNED).update(
            status=BatchStatus.DUE, updated_at=timezone.now())
        audit.record(actor=actor, action="settlement_account.verified", obj_type="settlement_account",
                     obj_id=locked.id, merchant_id=merchant.id,
                     after={"account": locked.masked_number, "returned_batches_to_repay": repaid})
        emit("account_verified", merchant_id=merchant.id,
             data={"account_id": str(locked.id), "account": locked.masked_number, "repaid": repaid})
    return locked
