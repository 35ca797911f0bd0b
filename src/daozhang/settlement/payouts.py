"""Paying batches to merchants' bank accounts, and what happens when the bank says no.

A payout row is written before the bank is called and the bank is keyed by its id, so a
run killed at any point and started again asks the bank about the payouts it may have
sent instead of sending them twice.

Ledger (docs/ledger.md):
  accepted: Dr merchant payout due   Cr payouts in transit
  paid:     Dr payouts in transit    Cr settlement bank
  returned: Dr payouts in transit    Cr merchant payout due   (the money is back, visible)
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from daozhang.channels.bank import BankUnavailable, PayeeAccount, TransferResult, TransferState, get_bank
from daozhang.core import clock
from daozhang.core.alerts import raise_alert
from daozhang.ledger.accounts import merchant_payout_due, payouts_in_transit, pick_shard, settlement_bank
from daozhang.ledger.services import Leg, NewEntry, post_entry
from daozhang.merchants.models import MerchantStatus, SettlementAccount
from daozhang.notifications.services import notify
from daozhang.settlement.models import BatchStatus, Payout, PayoutStatus, SettlementBatch

log = logging.getLogger(__name__)


@dataclass
class PayoutRunResult:
    submitted: int = 0
    paid: int = 0
    returned: int = 0
    retrying: int = 0
    waiting: int = 0


def _payee(account: SettlementAccount) -> PayeeAccount:
    return PayeeAccount(account.holder_name, account.account_number, account.bank_name, account.account_type)


def _entry(payout: Payout, step: str, legs: tuple[Leg, ...]) -> NewEntry:
    return NewEntry(kind=f"payout.{step}", idempotency_key=f"payout:{payout.id}:{step}",
                    business_ref=f"payout:{payout.id}", business_date=clock.business_date(), legs=legs,
                    merchant_id=payout.merchant_id)


def payable_batches(as_of: dt.date, limit: int = 10_000) -> list[SettlementBatch]:
    """Batches due by `as_of` whose merchant may be paid (active, no unverified account change)."""
    change_pending = SettlementAccount.objects.filter(
        merchant_id=OuterRef("merchant_id"), is_current=False, verified_at__isnull=True, rejected_at__isnull=True)
    return list(
        SettlementBatch.objects.select_related("merchant")
        .filter(status=BatchStatus.DUE, payout_date__lte=as_of, merchant__status=MerchantStatus.ACTIVE)
        .filter(~Exists(change_pending))
        .order_by("payout_date", "id")[:limit]
    )


def start_payout(batch: SettlementBatch) -> Payout | None:
    """Create the next payout attempt of a due batch (or return the one in flight)."""
    account = SettlementAccount.objects.filter(merchant_id=batch.merchant_id, is_current=True).first()
    if account is None:
        return None
    with transaction.atomic():
        locked = SettlementBatch.objects.select_for_update().get(id=batch.id)
        if locked.status != BatchStatus.DUE:
            return None
        open_attempt = locked.payouts.exclude(status__in=[PayoutStatus.PAID, PayoutStatus.RETURNED]).first()
        if open_attempt is not None:
            return open_attempt
        attempt = locked.payouts.count() + 1
        try:
            return Payout.objects.create(batch=locked, merchant_id=locked.merchant_id, attempt=attempt,
                                         amount=locked.net, account=account, status=PayoutStatus.SUBMITTING,
                                         created_at=clock.now())
        except IntegrityError:
            return Payout.objects.get(batch=locked, attempt=attempt)


def submit(payout: Payout) -> str:
    """Send one payout to the bank (or find out that it already has it)."""
    bank = get_bank()
    try:
        known = bank.status(payout.id) if payout.tries else TransferResult(TransferState.UNKNOWN)
        if known.state == TransferState.UNKNOWN:
            bank.transfer(payout.id, payout.amount, _payee(payout.account))
    except BankUnavailable:
        return _retry_later(payout)
    with transaction.atomic():
        p = Payout.objects.select_for_update().get(id=payout.id)
        if p.status in (PayoutStatus.SUBMITTING, PayoutStatus.RETRYING):
            shard = pick_shard()
            post_entry(_entry(p, "accepted", (Leg(merchant_payout_due(p.merchant_id), p.amount),
                                              Leg(payouts_in_transit(shard), -p.amount))))
            p.status, p.submitted_at, p.tries = PayoutStatus.ACCEPTED, clock.now(), p.tries + 1
            p.save(update_fields=["status", "submitted_at", "tries"])
            SettlementBatch.objects.filter(id=p.batch_id).update(status=BatchStatus.IN_TRANSIT,
                                                                 updated_at=clock.now())
    return PayoutStatus.ACCEPTED


def _retry_later(payout: Payout) -> str:
    tries = payout.tries + 1
    wait = dt.timedelta(minutes=2 ** min(tries - 1, 10))
    Payout.objects.filter(id=payout.id).update(status=PayoutStatus.RETRYING, tries=tries,
                                               next_try_at=clock.now() + wait)
    if tries >= settings.PAYOUT_MAX_TRIES:
        raise_alert("payout_stuck", str(payout.id),
                    en=f"Payout {payout.id} failed {tries} times: the bank is unavailable.",
                    zh=f"出款 {payout.id} 已失败 {tries} 次：银行不可用。")
    return PayoutStatus.RETRYING


def settle_result(payout: Payout) -> str:
    """Ask the bank whether an accepted payout arrived or came back, and book the answer."""
    try:
        result = get_bank().status(payout.id)
    except BankUnavailable:
        return payout.status
    if result.state not in (TransferState.PAID, TransferState.RETURNED):
        return payout.status
    return record_result(payout, result)


def record_result(payout: Payout, result: TransferResult) -> str:
    """Book a final bank answer (from a status query or an imported result file). Idempotent."""
    with transaction.atomic():
        p = Payout.objects.select_for_update().select_related("merchant").get(id=payout.id)
        if p.status in (PayoutStatus.PAID, PayoutStatus.RETURNED):
            return p.status
        if p.status != PayoutStatus.ACCEPTED:
            return p.status
        shard = pick_shard()
        now = clock.now()
        if result.state == TransferState.PAID:
            post_entry(_entry(p, "paid", (Leg(payouts_in_transit(shard), p.amount),
                                          Leg(settlement_bank(shard), -p.amount))))
            p.status, p.bank_ref, p.finished_at = PayoutStatus.PAID, result.bank_ref, now
            SettlementBatch.objects.filter(id=p.batch_id).update(status=BatchStatus.PAID, updated_at=now)
            notify(p.merchant, "payout_paid",
                   en=f"¥{p.amount / 100:,.2f} has arrived in your account (bank ref {result.bank_ref}).",
                   zh=f"¥{p.amount / 100:,.2f} 已到账（银行流水号 {result.bank_ref}）。")
        else:
            post_entry(_entry(p, "returned", (Leg(payouts_in_transit(shard), p.amount),
                                              Leg(merchant_payout_due(p.merchant_id), -p.amount))))
            p.status, p.return_code, p.return_reason, p.finished_at = (
                PayoutStatus.RETURNED, result.return_code, result.reason[:200], now)
            SettlementBatch.objects.filter(id=p.batch_id).update(status=BatchStatus.RETURNED, updated_at=now)
            notify(p.merchant, "payout_returned",
                   en=f"Your payout of ¥{p.amount / 100:,.2f} was returned by the bank: {result.reason}. "
                      "Correct your settlement account to be paid again.",
                   zh=f"您的 ¥{p.amount / 100:,.2f} 出款被银行退回：{result.reason}。请更正结算账户后将重新出款。")
        p.save()
        return p.status


def run_payouts(as_of: dt.date | None = None, progress: Callable[[int], None] | None = None) -> PayoutRunResult:
    """Submit every payable batch, retry those whose back-off has passed, collect answers."""
    day = as_of or clock.business_date()
    result = PayoutRunResult()
    now = clock.now()
    # 1. Attempts a crash left half-way, and bank outages whose wait is over.
    pending = list(Payout.objects.select_related("account").filter(status=PayoutStatus.SUBMITTING)) + list(
        Payout.objects.select_related("account").filter(status=PayoutStatus.RETRYING, next_try_at__lte=now))
    # 2. New attempts for due batches.
    for batch in payable_batches(day):
        payout = start_payout(batch)
        if payout is not None and payout.status == PayoutStatus.SUBMITTING and payout not in pending:
            pending.append(payout)
    for payout in pending:
        state = submit(payout)
        result.submitted += state == PayoutStatus.ACCEPTED
        result.retrying += state == PayoutStatus.RETRYING
        if progress:
            progress(1)
    # 3. Final answers for everything in transit.
    for payout in Payout.objects.filter(status=PayoutStatus.ACCEPTED).order_by("submitted_at"):
        state = settle_result(payout)
        result.paid += state == PayoutStatus.PAID
        result.returned += state == PayoutStatus.RETURNED
        result.waiting += state == PayoutStatus.ACCEPTED
    return result


def hold_batch(*, batch_id: uuid.UUID, actor: str, reason: str) -> SettlementBatch:
    """Staff stop a due or returned batch from being paid (e.g. pending a compliance check)."""
    from daozhang.audit import services as audit
    from daozhang.core.errors import DomainError

    with transaction.atomic():
        b = SettlementBatch.objects.select_for_update().filter(id=batch_id).first()
        if b is None:
            raise DomainError("not_found", "batch_id", status=404)
        if b.status not in (BatchStatus.DUE, BatchStatus.RETURNED):
            raise DomainError("bad_transition", "status", {"current": b.status, "target": BatchStatus.HELD}, 409)
        before = b.status
        b.status, b.updated_at = BatchStatus.HELD, clock.now()
        b.save(update_fields=["status", "updated_at"])
        audit.record(actor=actor, action="batch.hold", obj_type="settlement_batch", obj_id=b.id,
                     merchant_id=b.merchant_id, before={"status": before}, after={"status": b.status, "reason": reason})
    return b


def repay_batch(*, batch_id: uuid.UUID, actor: str, reason: str) -> SettlementBatch:
    """Staff release a held or returned batch for payment (to the current verified account)."""
    from daozhang.audit import services as audit
    from daozhang.core.errors import DomainError

    with transaction.atomic():
        b = SettlementBatch.objects.select_for_update().filter(id=batch_id).first()
        if b is None:
            raise DomainError("not_found", "batch_id", status=404)
        if b.status not in (BatchStatus.HELD, BatchStatus.RETURNED):
            raise DomainError("bad_transition", "status", {"current": b.status, "target": BatchStatus.DUE}, 409)
        before = b.status
        b.status, b.updated_at = BatchStatus.DUE, clock.now()
        b.save(update_fields=["status", "updated_at"])
        audit.record(actor=actor, action="batch.repay", obj_type="settlement_batch", obj_id=b.id,
                     merchant_id=b.merchant_id, before={"status": before}, after={"status": b.status, "reason": reason})
    return b
