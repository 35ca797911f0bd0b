"""Paying batches to merchants' bank accounts, and what happens when the bank says no.

A payout row is written before the bank is called and the bank is keyed by its id, so a
run killed at any point and started again asks the bank about the payouts it may have
sent instead of sending them twice.

Before each send (issue 11, items 3 and 4), under the locks of the merchant, the batch
and the attempt, `_claim_for_sending` checks again what may have changed since the
attempt was made — the merchant suspended or closed, the batch held or not due, the
account no longer current or verified, a change pending, the cool-off after a change not
over — and that the amount is what the ledger owes: the batch's own payout-due postings
(its settlement entry less what earlier attempts moved), equal to the batch's recorded
net and covered by the merchant's payout-due balance. An attempt that fails is *stopped*
(never sent) with its reason; the batch is held when a person must look (suspension,
ledger mismatch) and stays due when time fixes it (cool-off, account change). Only then
is the attempt marked `sending` and handed to the bank, outside any transaction (a
database lock never waits on a network). Staff may cancel an attempt the bank has not
accepted (`cancel_payout`).

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
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django_tasks import task

from daozhang.audit import services as audit
from daozhang.channels.bank import BankUnavailable, PayeeAccount, TransferResult, TransferState, get_bank
from daozhang.core import clock
from daozhang.core.alerts import raise_alert, resolve_alerts
from daozhang.core.crypto import is_unreadable
from daozhang.core.errors import DomainError
from daozhang.core.events import NewEvent, emit_many
from daozhang.core.keyed import attach, lock_each, lock_in_merchant_order
from daozhang.ledger.accounts import merchant_payout_due, payouts_in_transit, settlement_bank
from daozhang.ledger.models import Account, Entry, Posting
from daozhang.ledger.services import Leg, NewEntry, post_entries
from daozhang.merchants.models import Merchant, MerchantStatus, SettlementAccount
from daozhang.settlement.models import BatchStatus, Payout, PayoutStatus, SettlementBatch

log = logging.getLogger(__name__)


@dataclass
class PayoutRunResult:
    submitted: int = 0
    paid: int = 0
    returned: int = 0
    retrying: int = 0
    waiting: int = 0
    stopped: int = 0


@dataclass(frozen=True)
class StopReason:
    """Why an attempt was not sent, in both languages, and where its batch goes: "held"
    (a person must look first), "due" (paid by a later run once the cause is gone), or ""
    (left as it is: already held by staff)."""

    en: str
    zh: str
    batch: str


STOP_REASONS: dict[str, StopReason] = {
    "merchant_not_active": StopReason("merchant suspended or closed", "商户已暂停或注销", BatchStatus.HELD),
    "batch_not_due": StopReason("the batch is no longer due (held by staff)", "批次已不再待出款（已被暂缓）", ""),
    "payout_date_ahead": StopReason("the batch's payout date has not come", "未到批次出款日", BatchStatus.DUE),
    "account_changed": StopReason("the settlement account changed after the attempt was made",
                                  "发起出款后结算账户已变更", BatchStatus.DUE),
    "account_not_verified": StopReason("no current, bank-verified settlement account",
                                       "没有当前且经银行验证的结算账户", BatchStatus.DUE),
    "account_change_pending": StopReason("a settlement account change is pending", "结算账户变更待处理",
                                         BatchStatus.DUE),
    "cooloff": StopReason("waiting for the cool-off after an account change", "账户变更后的冷静期未满",
                          BatchStatus.DUE),
    "ledger_mismatch": StopReason("the batch's recorded net differs from its ledger entry",
                                  "批次记录的净额与账务分录不符", BatchStatus.HELD),
    "nothing_owed": StopReason("the ledger owes nothing more for this batch", "账务显示该批次已无应付金额",
                               BatchStatus.HELD),
    "payout_due_overdrawn": StopReason("the payout would drive the merchant's payout-due account into debit",
                                       "出款将使商户待出款账户出现借方余额", BatchStatus.HELD),
    "cancelled": StopReason("cancelled by staff", "工作人员撤销", ""),
}
SYSTEM = "system:payout-checks"


def with_accounts(payouts: list[Payout]) -> list[Payout]:
    """The payouts with their settlement accounts attached, read by (merchant_id, id)."""
    return attach(payouts, "account")


def batch_payouts(batch: SettlementBatch) -> list[Payout]:
    """A batch's payout attempts, first to last, with their accounts."""
    return with_accounts(list(Payout.objects.filter(merchant_id=batch.merchant_id, batch=batch).order_by("attempt")))


def _payee(account: SettlementAccount) -> PayeeAccount:
    return PayeeAccount(account.holder_name, account.account_number, account.bank_name, account.account_type)


def _entry(payout: Payout, step: str, legs: tuple[Leg, ...]) -> NewEntry:
    return NewEntry(kind=f"payout.{step}", idempotency_key=f"payout:{payout.id}:{step}",
                    business_ref=f"payout:{payout.id}", business_date=clock.business_date(), legs=legs,
                    merchant_id=payout.merchant_id)


def cooloff_hours() -> int:
    return max(0, int(getattr(settings, "PAYOUT_COOLOFF_HOURS", 24)))


def _changed_account_since(since: dt.datetime) -> Q:
    """Merchants whose current account took effect after `since` and replaced another one
    (the first account, checked with the licence at onboarding, has no cool-off)."""
    earlier = SettlementAccount.objects.filter(merchant_id=OuterRef("merchant_id"), is_current=False,
                                               verified_at__isnull=False)
    recent = SettlementAccount.objects.filter(merchant_id=OuterRef("merchant_id"), is_current=True,
                                              verified_at__gt=since).filter(Exists(earlier))
    return Q(Exists(recent))


def cooloff_until(merchant_ids: set[uuid.UUID] | list[uuid.UUID]) -> dict[uuid.UUID, dt.datetime]:
    """The merchants among these still in the cool-off after an account change, and when it ends.

    Counted from the current account's `verified_at` (the moment it took effect, after every
    step of the change), `PAYOUT_COOLOFF_HOURS` long; 0 switches it off. A merchant whose
    account was switched moments ago by someone else has that long to notice the message it
    was sent and call before any money goes there (issue 11, item 2).
    """
    hours = cooloff_hours()
    if not hours or not merchant_ids:
        return {}
    wait = dt.timedelta(hours=hours)
    now = clock.now()
    changed = set(SettlementAccount.objects.filter(merchant_id__in=list(merchant_ids), is_current=False,
                                                   verified_at__isnull=False).values_list("merchant_id", flat=True))
    out: dict[uuid.UUID, dt.datetime] = {}
    for merchant_id, verified in SettlementAccount.objects.filter(
            merchant_id__in=list(changed), is_current=True, verified_at__isnull=False).values_list(
            "merchant_id", "verified_at"):
        if verified is not None and verified + wait > now:
            out[merchant_id] = verified + wait
    return out


def payable_batches(as_of: dt.date, limit: int = 10_000) -> list[SettlementBatch]:
    """Batches due by `as_of` whose merchant may be paid (active, no unverified account
    change, not in the cool-off after a change)."""
    change_pending = SettlementAccount.objects.filter(
        merchant_id=OuterRef("merchant_id"), is_current=False, verified_at__isnull=True, rejected_at__isnull=True)
    qs = (SettlementBatch.objects.select_related("merchant")
          .filter(status=BatchStatus.DUE, payout_date__lte=as_of, merchant__status=MerchantStatus.ACTIVE)
          .filter(~Exists(change_pending)))
    if cooloff_hours():
        qs = qs.exclude(_changed_account_since(clock.now() - dt.timedelta(hours=cooloff_hours())))
    return list(qs.order_by("payout_date", "id")[:limit])


def ledger_owed(batches: list[SettlementBatch]) -> dict[uuid.UUID, tuple[int, int]]:
    """Per batch: (what its settlement entry put on the merchant's payout-due account, what
    the ledger still owes for it), from the postings, never from `SettlementBatch.net`.

    Owed = the batch entry's credit to payout-due, less the debits of its accepted payouts,
    plus the credits of the returned ones (docs/ledger.md): a paid batch owes nothing.
    """
    if not batches:
        return {}
    ref_of: dict[str, tuple[uuid.UUID, bool]] = {f"batch:{b.id}": (b.id, True) for b in batches}
    for pid, bid in Payout.objects.filter(batch_id__in=[b.id for b in batches]).values_list("id", "batch_id"):
        ref_of[f"payout:{pid}"] = (bid, False)
    due_accounts = [merchant_payout_due(m).id for m in {b.merchant_id for b in batches}]
    own: dict[uuid.UUID, int] = dict.fromkeys((b.id for b in batches), 0)
    owed: dict[uuid.UUID, int] = dict(own)
    # The entries first, then their postings on the payout-due accounts: each read is one
    # table's, by merchant (not a join of postings to entries on the entry's id alone).
    merchants = {b.merchant_id for b in batches}
    ref_by_entry = dict(Entry.objects.filter(merchant_id__in=merchants, business_ref__in=list(ref_of))
                        .values_list("id", "business_ref"))
    totals = (Posting.objects.filter(merchant_id__in=merchants, account_id__in=due_accounts,
                                     entry_id__in=list(ref_by_entry))
              .values_list("entry_id").annotate(total=Sum("amount")))
    rows = [(ref_by_entry[entry_id], total) for entry_id, total in totals]
    for ref, total in rows:
        batch_id, is_own = ref_of[ref]
        owed[batch_id] -= int(total)  # a liability: credits are negative
        if is_own:
            own[batch_id] -= int(total)
    return {b.id: (own[b.id], owed[b.id]) for b in batches}


def payout_due_balances(merchant_ids: set[uuid.UUID]) -> dict[uuid.UUID, int]:
    """What each merchant's payout-due account holds for it (a liability shown positive)."""
    ids = {merchant_payout_due(m).id: m for m in merchant_ids}
    out = dict.fromkeys(merchant_ids, 0)
    for aid, balance in Account.objects.filter(id__in=list(ids)).values_list("id", "balance"):
        out[ids[aid]] = -int(balance)
    return out


def start_payout(batch: SettlementBatch) -> Payout | None:
    """Create the next payout attempt of one due batch (or return the one in flight)."""
    made = start_payouts([batch])
    return made[0] if made else None


_OPEN = (PayoutStatus.SUBMITTING, PayoutStatus.SENDING, PayoutStatus.ACCEPTED, PayoutStatus.RETRYING)


def start_payouts(batches: list[SettlementBatch]) -> list[Payout]:
    """The next attempt of each due batch, written before anything is sent to the bank, for
    the amount the ledger owes (checked again before it is sent)."""
    ids = [b.id for b in batches]
    accounts = {a.merchant_id: a for a in SettlementAccount.objects.filter(
        merchant_id__in={b.merchant_id for b in batches}, is_current=True)}
    with transaction.atomic():
        locked = lock_each(SettlementBatch.objects.filter(status=BatchStatus.DUE),
                           [(b.merchant_id, b.id) for b in batches])
        open_ones = {p.batch_id: p for p in Payout.objects.filter(batch_id__in=ids, status__in=_OPEN)}
        attempts = dict(Payout.objects.filter(batch_id__in=ids).values("batch_id").annotate(n=Count("id"))
                        .values_list("batch_id", "n"))
        owed = ledger_owed([b for b in locked if b.id not in open_ones])
        now = clock.now()
        fresh = [
            Payout(batch=b, merchant_id=b.merchant_id, attempt=attempts.get(b.id, 0) + 1, amount=owed[b.id][1],
                   account=accounts[b.merchant_id], status=PayoutStatus.SUBMITTING, created_at=now)
            for b in locked if b.id not in open_ones and b.merchant_id in accounts
        ]
        Payout.objects.bulk_create(fresh)
    return [*open_ones.values(), *fresh]


def _why_not(p: Payout, batch: SettlementBatch, merchant: Merchant, current: SettlementAccount | None,
             pending: bool, cool: dt.datetime | None, own_owed: tuple[int, int], left: int,
             today: dt.date) -> tuple[str, str]:
    """The reason this attempt must not be sent now ("" if it may), and a detail."""
    if merchant.status != MerchantStatus.ACTIVE:
        return "merchant_not_active", merchant.status
    if batch.status != BatchStatus.DUE:
        return "batch_not_due", batch.status
    if batch.payout_date > today:
        return "payout_date_ahead", batch.payout_date.isoformat()
    if current is None or current.verified_at is None:
        return "account_not_verified", ""
    if current.id != p.account_id:
        return "account_changed", current.masked_number
    if pending:
        return "account_change_pending", ""
    if cool is not None:
        local = cool.astimezone(clock.business_tz())
        return "cooloff", f"{local:%Y-%m-%d %H:%M}"
    own, owed = own_owed
    if own != batch.net:
        return "ledger_mismatch", f"recorded {batch.net}, ledger {own}"
    if owed <= 0:
        return "nothing_owed", f"ledger owes {owed}"
    if p.amount != owed:
        return "ledger_mismatch", f"attempt {p.amount}, ledger owes {owed}"
    if p.amount > left:
        return "payout_due_overdrawn", f"payout {p.amount}, payout due {left}"
    return "", ""


def _claim_for_sending(payouts: list[Payout]) -> tuple[list[Payout], list[uuid.UUID]]:
    """Re-check each attempt under the locks and mark the ones that may go `sending`; stop
    the others. Returns (the attempts to hand to the bank now, the ids of those stopped).

    Locks one merchant at a time, merchants in id order, and for each in one order
    everywhere: the merchant (FOR NO KEY UPDATE: a suspension waits, a sale's foreign-key
    check does not), its batches, its attempts, each by id (a lock names one merchant: one
    shard of a database distributed by merchant, `core.keyed.lock_each`).
    """
    if not payouts:
        return [], []
    with transaction.atomic():
        first = list(Payout.objects.filter(merchant_id__in={p.merchant_id for p in payouts},
                                           id__in=[p.id for p in payouts]).values_list("merchant_id", "id", "batch_id"))
        merchant_ids = sorted({m for m, _, _ in first})
        open_states = [PayoutStatus.SUBMITTING, PayoutStatus.SENDING, PayoutStatus.RETRYING]
        locked_merchants, locked_batches, locked = lock_in_merchant_order([
            (Merchant.objects.all(), [(m, m) for m in merchant_ids], True),
            (SettlementBatch.objects.all(), [(m, b) for m, _, b in first], False),
            (Payout.objects.filter(status__in=open_states), [(m, i) for m, i, _ in first], False),
        ])
        merchants: dict[uuid.UUID, Merchant] = {m.id: m for m in locked_merchants}
        batches: dict[uuid.UUID, SettlementBatch] = {b.id: b for b in locked_batches}
        accounts = list(SettlementAccount.objects.filter(merchant_id__in=merchant_ids).filter(
            Q(is_current=True) | Q(verified_at__isnull=True, rejected_at__isnull=True)))
        current = {a.merchant_id: a for a in accounts if a.is_current}
        pending = {a.merchant_id for a in accounts if not a.is_current}
        cool = cooloff_until(merchant_ids)
        owed = ledger_owed([batches[p.batch_id] for p in locked])
        left = payout_due_balances(set(merchant_ids))
        today, now = clock.business_date(), clock.now()
        send, stops = [], []
        for p in locked:
            b = batches[p.batch_id]
            code, detail = _why_not(p, b, merchants[p.merchant_id], current.get(p.merchant_id),
                                    p.merchant_id in pending, cool.get(p.merchant_id), owed[b.id],
                                    left[p.merchant_id], today)
            if code:
                stops.append((p, b, code, detail))
            else:
                left[p.merchant_id] -= p.amount  # two batches of one merchant: both must be covered
                p.account = current[p.merchant_id]  # checked: the attempt's own account
                send.append(p)
        Payout.objects.filter(merchant_id__in={p.merchant_id for p in send},
                              id__in=[p.id for p in send]).update(status=PayoutStatus.SENDING)
        for p in send:
            p.status = PayoutStatus.SENDING
        for p, b, code, detail in stops:
            _stop(p, b, code, detail, SYSTEM, now)
    return send, [p.id for p, _, _, _ in stops]


def _stop(p: Payout, b: SettlementBatch, code: str, detail: str, actor: str, now: dt.datetime,
          batch_to: str | None = None) -> None:
    """Stop one attempt (locked, never sent), move its batch, audit and alert as needed."""
    reason = STOP_REASONS[code]
    target = batch_to if batch_to is not None else reason.batch
    was = p.status
    p.status, p.stop_reason, p.stopped_by, p.finished_at = PayoutStatus.STOPPED, code, actor, now
    p.stop_detail = detail[:300]
    p.next_try_at = None
    p.save(update_fields=["status", "stop_reason", "stop_detail", "stopped_by", "finished_at", "next_try_at"])
    before = b.status
    if target and b.status in (BatchStatus.DUE, BatchStatus.HELD) and b.status != target:
        b.status, b.updated_at = target, now
        b.save(update_fields=["status", "updated_at"])
    audit.record(actor=actor, action="payout.cancel" if code == "cancelled" else "payout.stopped", obj_type="payout",
                 obj_id=p.id, merchant_id=p.merchant_id, before={"status": was, "batch_status": before},
                 after={"status": PayoutStatus.STOPPED.value, "reason": code, "detail": p.stop_detail,
                        "batch_status": b.status})
    # Nothing is stuck at the bank any more: the attempt is closed.
    resolve_alerts("payout_stuck", [str(p.id)])
    if code in ("ledger_mismatch", "payout_due_overdrawn", "nothing_owed"):
        raise_alert("payout_ledger", str(b.id),
                    en=f"Payout of the batch {b.id} ({b.settlement_date}) refused: {reason.en} ({detail}). "
                       "The batch is held; compare it with the ledger before re-paying.",
                    zh=f"批次 {b.id}（{b.settlement_date}）出款已拒绝：{reason.zh}（{detail}）。批次已暂缓，"
                       "请核对账务后再重新付款。")
    log.warning("payout %s stopped: %s %s", p.id, code, detail)


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
    except BankUnavailable:
        return {p.id: _retry_later(p) for p in payouts}
    # The bank has these already (a run that crashed after sending): they left, book them.
    had = [p for p in payouts if known[p.id].state != TransferState.UNKNOWN]
    claimed, stopped = _claim_for_sending([p for p in payouts if known[p.id].state == TransferState.UNKNOWN])
    states: dict[uuid.UUID, str] = dict.fromkeys(stopped, PayoutStatus.STOPPED)
    if claimed:
        try:
            bank.transfer_many([(p.id, p.amount, _payee(p.account)) for p in claimed])
        except BankUnavailable:
            states.update({p.id: _retry_later(p) for p in claimed})
            claimed = []
    states.update(_book_accepted([*had, *claimed]))
    return states


def _book_accepted(payouts: list[Payout]) -> dict[uuid.UUID, str]:
    """Book the attempts the bank has as accepted, in one transaction."""
    states: dict[uuid.UUID, str] = {}
    if not payouts:
        return states
    merchant_ids = {p.merchant_id for p in payouts}
    with transaction.atomic():
        # One conditional UPDATE takes the rows (their locks, to COMMIT) and moves only the
        # attempts still open; the ones it moved are read back by their new state and time.
        # Not SELECT … FOR UPDATE: many merchants' row locks are not one shard's.
        now = clock.now()
        Payout.objects.filter(merchant_id__in=merchant_ids, id__in=[p.id for p in payouts], status__in=[
            PayoutStatus.SUBMITTING, PayoutStatus.SENDING, PayoutStatus.RETRYING]).update(
            status=PayoutStatus.ACCEPTED, submitted_at=now, tries=F("tries") + 1)
        locked = list(Payout.objects.filter(merchant_id__in=merchant_ids, id__in=[p.id for p in payouts],
                                            status=PayoutStatus.ACCEPTED, submitted_at=now))
        entries = []
        for p in locked:
            entries.append(_entry(p, "accepted", (Leg(merchant_payout_due(p.merchant_id), p.amount),
                                                  Leg(payouts_in_transit(p.merchant_id), -p.amount))))
            states[p.id] = PayoutStatus.ACCEPTED
        post_entries(entries)
        SettlementBatch.objects.filter(merchant_id__in=merchant_ids, id__in=[p.batch_id for p in locked]).update(
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
    # Only an attempt still open: one staff cancelled meanwhile stays cancelled.
    Payout.objects.filter(merchant_id=payout.merchant_id, id=payout.id,
                          status__in=[PayoutStatus.SUBMITTING, PayoutStatus.SENDING, PayoutStatus.RETRYING]).update(
        status=PayoutStatus.RETRYING, tries=tries, next_try_at=clock.now() + wait)
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
    merchant_ids = {p.merchant_id for p, _ in answers}
    with transaction.atomic():
        # As in _book_accepted: conditional UPDATEs take the attempts still accepted (and
        # their locks), the ones they moved are read back by their new state and time.
        now = clock.now()
        for paid_now, final in ((True, PayoutStatus.PAID), (False, PayoutStatus.RETURNED)):
            Payout.objects.filter(merchant_id__in=merchant_ids, status=PayoutStatus.ACCEPTED, id__in=[
                pid for pid, r in by_id.items() if (r.state == TransferState.PAID) == paid_now]).update(
                status=final, finished_at=now)
        locked = list(Payout.objects.filter(merchant_id__in=merchant_ids, id__in=list(by_id), finished_at=now,
                                            status__in=[PayoutStatus.PAID, PayoutStatus.RETURNED]))
        entries, notes, paid, returned = [], [], [], []
        for p in locked:
            result = by_id[p.id]
            if result.state == TransferState.PAID:
                entries.append(_entry(p, "paid", (Leg(payouts_in_transit(p.merchant_id), p.amount),
                                                  Leg(settlement_bank(p.merchant_id), -p.amount))))
                p.status, p.bank_ref, p.finished_at = PayoutStatus.PAID, result.bank_ref, now
                paid.append(p)
                notes.append(NewEvent("payout_paid", p.merchant_id, {
                    "payout_id": str(p.id), "batch_id": str(p.batch_id), "amount": p.amount,
                    "bank_ref": result.bank_ref}))
            else:
                entries.append(_entry(p, "returned", (Leg(payouts_in_transit(p.merchant_id), p.amount),
                                                      Leg(merchant_payout_due(p.merchant_id), -p.amount))))
                p.status, p.return_code, p.return_reason, p.finished_at = (
                    PayoutStatus.RETURNED, result.return_code, result.reason[:200], now)
                returned.append(p)
                notes.append(NewEvent("payout_returned", p.merchant_id, {
                    "payout_id": str(p.id), "batch_id": str(p.batch_id), "amount": p.amount,
                    "return_code": result.return_code, "reason": result.reason}))
            states[p.id] = p.status
        post_entries(entries)
        # The state and time are set above; what differs row by row is left. bulk_update
        # keeps the queryset's filter: each UPDATE names the merchants.
        if paid:
            Payout.objects.filter(merchant_id__in={p.merchant_id for p in paid}).bulk_update(paid, ["bank_ref"])
        if returned:
            Payout.objects.filter(merchant_id__in={p.merchant_id for p in returned}).bulk_update(
                returned, ["return_code", "return_reason"])
        for rows, status in ((paid, BatchStatus.PAID), (returned, BatchStatus.RETURNED)):
            SettlementBatch.objects.filter(merchant_id__in={p.merchant_id for p in rows},
                                           id__in=[p.batch_id for p in rows]).update(status=status, updated_at=now)
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
    # `sending`: a run killed between its checks and the bank's answer (asked first, below).
    pending = with_accounts(list(Payout.objects.filter(
        Q(status__in=[PayoutStatus.SUBMITTING, PayoutStatus.SENDING])
        | Q(status=PayoutStatus.RETRYING, next_try_at__lte=now))))
    for part in _chunks(pending, chunk):
        states = submit_many(part)
        result.submitted += sum(s == PayoutStatus.ACCEPTED for s in states.values())
        result.retrying += sum(s == PayoutStatus.RETRYING for s in states.values())
        result.stopped += sum(s == PayoutStatus.STOPPED for s in states.values())
        if progress:
            progress(len(part))
    accepted = list(Payout.objects.filter(status=PayoutStatus.ACCEPTED).order_by("submitted_at"))
    for part in _chunks(accepted, chunk):
        states = collect_answers(part)
        result.paid += sum(s == PayoutStatus.PAID for s in states.values())
        result.returned += sum(s == PayoutStatus.RETURNED for s in states.values())
        result.waiting += len(part) - len(states)
    return result


# A payout attempt the bank has, or is being handed right now: holding its batch then would
# say "held" of money that has left or is leaving. An attempt still submitting or retrying
# has not reached the bank: a hold stops it (it is checked again under the lock before
# any send, `_claim_for_sending`).
IN_FLIGHT = (PayoutStatus.SENDING, PayoutStatus.ACCEPTED)


def hold_batch(*, batch_id: uuid.UUID, actor: str, reason: str) -> SettlementBatch:
    """Staff stop a due or returned batch from being paid (e.g. pending a compliance check),
    also while its payout is retrying through a bank outage: the retry is then not sent."""
    return _move_batch(batch_id, actor, reason, (BatchStatus.DUE, BatchStatus.RETURNED), BatchStatus.HELD, "hold")


def cancel_payout(*, payout_id: uuid.UUID, actor: str, reason: str, then: str = BatchStatus.HELD) -> Payout:
    """Staff cancel an attempt the bank has not accepted; its batch goes to `then` (held, or
    due for a new attempt by the next run). Exactly once: cancelling a cancelled attempt
    changes nothing; an accepted one is refused (the money has left or is leaving).

    An attempt that may have reached the bank (tried before, or interrupted while being
    sent) is first looked up at the bank: if the bank has it, it is booked as accepted
    (which it is) and the cancel refused.
    """
    reason = (reason or "").strip()[:300]
    if not reason:
        raise DomainError("required", "reason")
    if then not in (BatchStatus.HELD, BatchStatus.DUE):
        raise DomainError("invalid", "then")
    p = Payout.objects.filter(id=payout_id).first()
    if p is None:
        raise DomainError("not_found", "payout_id", status=404)
    with_accounts([p])
    _refuse_if_gone(p)
    if p.status in (PayoutStatus.SUBMITTING, PayoutStatus.RETRYING) and p.tries > 0:
        try:
            answer = get_bank().status_many([p.id])[p.id]
        except BankUnavailable as exc:
            raise DomainError("payout_bank_unreachable", "payout_id", status=409) from exc
        if answer.state != TransferState.UNKNOWN:
            _book_accepted([p])
            p.refresh_from_db()
            _refuse_if_gone(p)
    with transaction.atomic():
        b = SettlementBatch.objects.get_locked(id=p.batch_id, merchant_id=p.merchant_id)
        locked = Payout.objects.get_locked(id=p.id, merchant_id=p.merchant_id)
        if locked.status == PayoutStatus.STOPPED:
            return locked  # cancelled (or stopped) already: nothing happens twice
        _refuse_if_gone(locked)
        _stop(locked, b, "cancelled", reason, actor, clock.now(), batch_to=then)
    if then == BatchStatus.DUE:
        transaction.on_commit(_pay_now)
    return locked


_GONE = {PayoutStatus.ACCEPTED: ("accepted, awaiting the bank's result", "银行处理中"),
         PayoutStatus.PAID: ("paid", "已到账"), PayoutStatus.RETURNED: ("returned", "已退回")}


def _refuse_if_gone(p: Payout) -> None:
    if p.status in _GONE:
        raise DomainError("payout_accepted", "payout_id", {"state": _GONE[PayoutStatus(p.status)]}, 409)
    if p.status == PayoutStatus.SENDING:
        raise DomainError("payout_being_sent", "payout_id", status=409)


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
        b = SettlementBatch.objects.lock(id=batch_id)
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
