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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django_tasks import task

from daozhang.audit import services as audit
from daozhang.channels.bank import BankUnavailable, PayeeAccount, TransferResult, TransferState, get_bank
from daozhang.core import clock
from daozhang.core.alerts import raise_alert, resolve_alerts
from daozhang.core.crypto import is_unreadable
from daozhang.core.errors import DomainError
from daozhang.core.events import NewEvent, emit_many
from daozhang.ledger.accounts import merchant_payout_due, payouts_in_transit, pick_shard, settlement_bank
from daozhang.ledger.services import Leg, NewEntry, post_entries
from daozhang.merchants.models import MerchantStatus, SettlementAccount
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
    """Create the next payout attempt of one due batch (or return the one in flight)."""
    made = start_payouts([batch])
    return made[0] if made else None


def start_payouts(batches: list[SettlementBatch]) -> list[Payout]:
    """The next attempt of each due batch, written before anything is sent to the bank."""
    ids = [b.id for b in batches]
    accounts = {a.merchant_id: a for a in SettlementAccount.objects.filter(
        merchant_id__in={b.merchant_id for b in batches}, is_current=True)}
    with transaction.atomic():
        locked = list(SettlementBatch.objects.select_for_update().filter(id__in=ids, status=BatchStatus.DUE))
        open_ones = {p.batch_id: p for p in Payout.objects.filter(batch_id__in=ids).exclude(
            status__in=[PayoutStatus.PAID, PayoutStatus.RETURNED])}
        attempts = dict(Payout.objects.filter(batch_id__in=ids).values("batch_id").annotate(n=Count("id"))
                        .values_list("batch_id", "n"))
        now = clock.now()
        fresh = [
            Payout(batch=b, merchant_id=b.merchant_id, attempt=attempts.get(b.id, 0) + 1, amount=b.net,
                   account=accounts[b.merchant_id], status=PayoutStatus.SUBMITTING, created_at=now)
            for b in locked if b.id not in open_ones and b.merchant_id in accounts
        ]
        Payout.objects.bulk_create(fresh)
    return [*open_ones.values(), *fresh]


def submit(payout: Payout) -> str:
    """Send one payout to the bank (or find out that it already has it)."""
    return submit_many([payout]).get(payout.id, payout.status)


def submit_many(payouts: list[Payout]) -> dict[uuid.UUID, str]:
    """Send payouts to the bank in one request; book the accepted ones in one transaction.

    The bank is first asked which of them it already has (a run that crashed after sending),
    so nothing is sent twice.
    """
    payouts = _readable_accounts(payouts)
    if not payouts:
        return {}
    bank = get_bank()
    try:
        known = bank.status_many([p.id for p in payouts])
        to_send = [p for p in payouts if known[p.id].state == TransferState.UNKNOWN]
        if to_send:
            bank.transfer_many([(p.id, p.amount, _payee(p.account)) for p in to_send])
    except BankUnavailable:
        return {p.id: _retry_later(p) for p in payouts}
    states: dict[uuid.UUID, str] = {}
    with transaction.atomic():
        locked = list(Payout.objects.select_for_update().filter(
            id__in=[p.id for p in payouts], status__in=[PayoutStatus.SUBMITTING, PayoutStatus.RETRYING]))
        now = clock.now()
        entries = []
        for p in locked:
            entries.append(_entry(p, "accepted", (Leg(merchant_payout_due(p.merchant_id), p.amount),
                                                  Leg(payouts_in_transit(pick_shard()), -p.amount))))
            states[p.id] = PayoutStatus.ACCEPTED
        post_entries(entries)
        Payout.objects.filter(id__in=list(states)).update(status=PayoutStatus.ACCEPTED, submitted_at=now,
                                                          tries=F("tries") + 1)
        SettlementBatch.objects.filter(id__in=[p.batch_id for p in locked]).update(
            status=BatchStatus.IN_TRANSIT, updated_at=now)
        # The bank took them after all: an alert about them being stuck is over.
        resolve_alerts("payout_stuck", [str(p.id) for p in locked])
        resolve_alerts("account_unreadable", [str(p.account_id) for p in payouts])
    return states


def _readable_accounts(payouts: list[Payout]) -> list[Payout]:
    """The payouts whose account number can be decrypted. The others stay as they are (sent
    by the first run after the key is fixed) and each account raises an alert naming the fix:
    a changed or dropped DAOZHANG_FIELD_KEYS never crashes a run or stops other merchants."""
    bad = [p for p in payouts if is_unreadable(p.account.account_number)]
    for p in bad:
        # Alert messages hold 300 characters; the console adds the fix's command (core.alerts).
        raise_alert("account_unreadable", str(p.account_id),
                    en=f"Payout {p.id} waits: account {p.account_id} is readable with no key in DAOZHANG_FIELD_KEYS. "
                       "Fix: DAOZHANG_FIELD_KEYS=NEW,OLD, restart, run `daozhang rotate_field_keys`.",
                    zh=f"出款 {p.id} 暂停：结算账户 {p.account_id} 无法用 DAOZHANG_FIELD_KEYS 中的密钥解密。"
                       "处理：DAOZHANG_FIELD_KEYS=新,旧，重启后运行 `daozhang rotate_field_keys`。")
    if not bad:
        return payouts
    log.error("%d payouts wait: their account numbers cannot be decrypted (alert account_unreadable)", len(bad))
    return [p for p in payouts if not is_unreadable(p.account.account_number)]


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


def collect_answers(payouts: list[Payout]) -> dict[uuid.UUID, str]:
    try:
        answers = get_bank().status_many([p.id for p in payouts])
    except BankUnavailable:
        return {}
    final = [(p, answers[p.id]) for p in payouts
             if answers[p.id].state in (TransferState.PAID, TransferState.RETURNED)]
    return book_answers(final)


def record_result(payout: Payout, result: TransferResult) -> str:
    """Book a final bank answer (from a status query or an imported result file). Idempotent."""
    return book_answers([(payout, result)]).get(payout.id) or Payout.objects.get(id=payout.id).status


def book_answers(answers: list[tuple[Payout, TransferResult]]) -> dict[uuid.UUID, str]:
    """Book final answers in one transaction; payouts already final are left as they are."""
    if not answers:
        return {}
    by_id = {p.id: r for p, r in answers}
    states: dict[uuid.UUID, str] = {}
    with transaction.atomic():
        locked = list(Payout.objects.select_for_update().filter(
            id__in=list(by_id), status=PayoutStatus.ACCEPTED))
        now = clock.now()
        entries, notes, paid, returned = [], [], [], []
        for p in locked:
            result = by_id[p.id]
            shard = pick_shard()
            if result.state == TransferState.PAID:
                entries.append(_entry(p, "paid", (Leg(payouts_in_transit(shard), p.amount),
                                                  Leg(settlement_bank(shard), -p.amount))))
                p.status, p.bank_ref, p.finished_at = PayoutStatus.PAID, result.bank_ref, now
                paid.append(p)
                notes.append(NewEvent("payout_paid", p.merchant_id, {
                    "payout_id": str(p.id), "batch_id": str(p.batch_id), "amount": p.amount,
                    "bank_ref": result.bank_ref}))
            else:
                entries.append(_entry(p, "returned", (Leg(payouts_in_transit(shard), p.amount),
                                                      Leg(merchant_payout_due(p.merchant_id), -p.amount))))
                p.status, p.return_code, p.return_reason, p.finished_at = (
                    PayoutStatus.RETURNED, result.return_code, result.reason[:200], now)
                returned.append(p)
                notes.append(NewEvent("payout_returned", p.merchant_id, {
                    "payout_id": str(p.id), "batch_id": str(p.batch_id), "amount": p.amount,
                    "return_code": result.return_code, "reason": result.reason}))
            states[p.id] = p.status
        post_entries(entries)
        Payout.objects.bulk_update(locked, ["status", "bank_ref", "return_code", "return_reason", "finished_at"])
        SettlementBatch.objects.filter(id__in=[p.batch_id for p in paid]).update(status=BatchStatus.PAID,
                                                                                 updated_at=now)
        SettlementBatch.objects.filter(id__in=[p.batch_id for p in returned]).update(
            status=BatchStatus.RETURNED, updated_at=now)
        emit_many(notes)
    return states


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i: i + size]


def run_payouts(as_of: dt.date | None = None, progress: Callable[[int], None] | None = None,
                chunk: int = 500) -> PayoutRunResult:
    """Submit every payable batch, retry those whose back-off has passed, collect answers.

    Works in chunks (one bank request and one transaction each), so ten thousand payouts
    cost a few dozen round trips to the bank rather than ten thousand.
    """
    today = clock.business_date()
    day = as_of or today
    if day > today:
        raise DomainError("invalid", "date")  # never pay a batch before its payout date
    result = PayoutRunResult()
    now = clock.now()
    for batches in _chunks(payable_batches(day, limit=1_000_000), chunk):
        start_payouts(batches)
    # Attempts a crash left half-way, new ones, and bank outages whose wait is over.
    pending = list(Payout.objects.select_related("account").filter(
        Q(status=PayoutStatus.SUBMITTING) | Q(status=PayoutStatus.RETRYING, next_try_at__lte=now)))
    for part in _chunks(pending, chunk):
        states = submit_many(part)
        result.submitted += sum(s == PayoutStatus.ACCEPTED for s in states.values())
        result.retrying += sum(s == PayoutStatus.RETRYING for s in states.values())
        if progress:
            progress(len(part))
    accepted = list(Payout.objects.filter(status=PayoutStatus.ACCEPTED).order_by("submitted_at"))
    for part in _chunks(accepted, chunk):
        states = collect_answers(part)
        result.paid += sum(s == PayoutStatus.PAID for s in states.values())
        result.returned += sum(s == PayoutStatus.RETURNED for s in states.values())
        result.waiting += len(part) - len(states)
    return result


# A payout attempt the bank has, or will be sent on the next run: holding its batch then
# would say "held" of money that is about to leave.
IN_FLIGHT = (PayoutStatus.SUBMITTING, PayoutStatus.ACCEPTED, PayoutStatus.RETRYING)


def hold_batch(*, batch_id: uuid.UUID, actor: str, reason: str) -> SettlementBatch:
    """Staff stop a due or returned batch from being paid (e.g. pending a compliance check)."""
    return _move_batch(batch_id, actor, reason, (BatchStatus.DUE, BatchStatus.RETURNED), BatchStatus.HELD, "hold")


def repay_batch(*, batch_id: uuid.UUID, actor: str, reason: str) -> SettlementBatch:
    """Staff release a held or returned batch for payment (to the current verified account).

    The money is not sent from here: the payout run is enqueued once this commits, so a
    running worker pays within seconds with every check a payout run makes (merchant
    active, no account change pending); without a worker the scheduled run pays it.
    """
    batch = _move_batch(batch_id, actor, reason, (BatchStatus.HELD, BatchStatus.RETURNED), BatchStatus.DUE,
                        "repay")
    transaction.on_commit(_pay_now)
    return batch


@task()
def pay_due_batches() -> dict[str, int]:
    """The payout run as a worker job: scheduled (`settlement.tasks`) and after a re-pay."""
    r = run_payouts()
    return {"submitted": r.submitted, "paid": r.paid, "returned": r.returned, "retrying": r.retrying}


def _pay_now() -> None:
    try:
        pay_due_batches.enqueue()
    except Exception:  # the batch is due either way: the scheduled run pays it
        log.exception("could not enqueue the payout run after a re-pay")


def _move_batch(batch_id: uuid.UUID, actor: str, reason: str, allowed: tuple[str, ...], target: str,
                action: str) -> SettlementBatch:
    reason = (reason or "").strip()[:300]
    if not reason:
        raise DomainError("required", "reason")
    with transaction.atomic():
        b = SettlementBatch.objects.select_for_update().filter(id=batch_id).first()
        if b is None:
            raise DomainError("not_found", "batch_id", status=404)
        if b.status not in allowed:
            raise DomainError("bad_transition", "status", {"current": b.status, "target": target}, 409)
        if target == BatchStatus.HELD and Payout.objects.filter(batch_id=b.id, status__in=IN_FLIGHT).exists():
            raise DomainError("bad_transition", "status",
                              {"current": ("payout in flight", "出款处理中"), "target": ("held", "暂缓出款")}, 409)
        before = b.status
        b.status, b.updated_at = target, clock.now()
        b.save(update_fields=["status", "updated_at"])
        audit.record(actor=actor, action=f"batch.{action}", obj_type="settlement_batch", obj_id=b.id,
                     merchant_id=b.merchant_id, before={"status": before}, after={"status": b.status, "reason": reason})
    return b
