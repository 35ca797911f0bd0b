"""Reads for console pages: queues, their counts, and keyset pages.

Keyset pagination (the last row's sort key, not an offset) keeps page 1,000 of the audit
log as fast as page 1 and never skips or repeats a row when new events arrive meanwhile.
The pager is core's (`core.pages`), shared with the API and the portal.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db.models import Model, OuterRef, Q, QuerySet, Subquery

from daozhang.core import clock, pages
from daozhang.core.errors import DomainError
from daozhang.core.models import Alert
from daozhang.core.pages import Page
from daozhang.merchants.models import SettlementAccount
from daozhang.settlement.models import BatchStatus, Payout, PayoutStatus, SettlementBatch
from daozhang.settlement.payouts import STOP_REASONS, cooloff_until, with_accounts
from daozhang.support.models import CaseStatus, SupportCase

M = TypeVar("M", bound=Model)
T = TypeVar("T")
PAGE = 50


def keyset(qs: QuerySet[M], order: tuple[str, ...], cursors: Mapping[str, str], size: int = PAGE) -> Page[M]:
    """One page of a console list (`core.pages`, the one pager), from the page's query
    string (`after`, `before`); a cursor no page gave starts from the top."""
    try:
        return pages.keyset(qs, order, after=cursors.get("after") or None, before=cursors.get("before") or None,
                            size=size, after_field="after")
    except DomainError:
        return pages.keyset(qs, order, after=None, before=None, size=size)


def _latest_attempt_status() -> Subquery:
    return Subquery(Payout.objects.filter(batch_id=OuterRef("id")).order_by("-attempt").values("status")[:1])


def queue_filter() -> Q:
    """Batches staff must look at: returned by the bank, held, stuck on a bank outage, or
    due again after their last attempt was stopped before sending (an account change, the
    cool-off)."""
    retrying = Payout.objects.filter(status=PayoutStatus.RETRYING).values("batch_id")
    stopped = (SettlementBatch.objects.filter(status=BatchStatus.DUE)
               .annotate(last=_latest_attempt_status()).filter(last=PayoutStatus.STOPPED).values("id"))
    return Q(status__in=[BatchStatus.RETURNED, BatchStatus.HELD]) | Q(id__in=retrying) | Q(id__in=stopped)


def queue_counts(user: Any) -> list[dict[str, Any]]:
    """The home page's figures: only the queues this user may open."""
    out: list[dict[str, Any]] = []
    if user.has_perm("settlement.view_settlementbatch"):
        qs = SettlementBatch.objects.filter(queue_filter())
        returned = qs.filter(status=BatchStatus.RETURNED).count()
        held = qs.filter(status=BatchStatus.HELD).count()
        retrying = Payout.objects.filter(status=PayoutStatus.RETRYING).count()
        stopped = qs.filter(status=BatchStatus.DUE).exclude(
            id__in=Payout.objects.filter(status=PayoutStatus.RETRYING).values("batch_id")).count()
        out += [
            {"id": "returned", "zh": "出款退回", "en": "Payouts returned", "n": returned,
             "url": "console:payouts", "query": "?state=returned"},
            {"id": "retrying", "zh": "出款失败重试中", "en": "Payouts failing (bank unavailable)", "n": retrying,
             "url": "console:payouts", "query": "?state=retrying"},
            {"id": "held", "zh": "暂缓出款", "en": "Payouts held", "n": held,
             "url": "console:payouts", "query": "?state=held"},
            {"id": "stopped", "zh": "出款已拦截待重发", "en": "Payouts stopped before sending, due again", "n": stopped,
             "url": "console:payouts", "query": "?state=stopped"},
        ]
    if user.has_perm("core.view_alert"):
        out.append({"id": "alerts", "zh": "未处理告警", "en": "Open alerts",
                    "n": Alert.objects.filter(resolved_at__isnull=True).count(), "url": "console:alerts", "query": ""})
    if user.has_perm("support.view_supportcase"):
        out.append({"id": "cases", "zh": "未结工单", "en": "Open cases",
                    "n": SupportCase.objects.exclude(status=CaseStatus.RESOLVED).count(),
                    "url": "console:cases", "query": ""})
    return out


@dataclass
class QueueRow:
    """One batch in the payout queue, with what staff need to decide."""

    batch: SettlementBatch
    payout: Payout | None
    state: str  # returned | held | retrying
    account: SettlementAccount | None
    account_zh: str = ""
    account_en: str = ""
    corrected: bool = False
    can_repay: bool = False
    can_hold: bool = False
    can_cancel: bool = False  # an attempt the bank has not accepted
    stop_zh: str = ""  # why the last attempt was stopped before sending
    stop_en: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def payout_queue(state: str, cursors: Mapping[str, str]) -> Page[QueueRow]:
    qs = SettlementBatch.objects.select_related("merchant").filter(queue_filter())
    if state == "returned":
        qs = qs.filter(status=BatchStatus.RETURNED)
    elif state == "held":
        qs = qs.filter(status=BatchStatus.HELD)
    elif state == "retrying":
        qs = qs.filter(id__in=Payout.objects.filter(status=PayoutStatus.RETRYING).values("batch_id"))
    elif state == "stopped":
        qs = qs.filter(status=BatchStatus.DUE).exclude(
            id__in=Payout.objects.filter(status=PayoutStatus.RETRYING).values("batch_id"))
    page = keyset(qs, ("payout_date", "id"), cursors)
    batches = page.rows
    latest: dict[uuid.UUID, Payout] = {}
    for p in with_accounts(list(Payout.objects.filter(
            merchant_id__in={b.merchant_id for b in batches}, batch_id__in=[b.id for b in batches]).order_by(
            "batch_id", "attempt"))):
        latest[p.batch_id] = p
    merchant_ids = {b.merchant_id for b in batches}
    current: dict[uuid.UUID, SettlementAccount] = {}
    pending: dict[uuid.UUID, SettlementAccount] = {}
    rejected: dict[uuid.UUID, SettlementAccount] = {}
    for a in SettlementAccount.objects.filter(merchant_id__in=merchant_ids).order_by("created_at"):
        if a.is_current:
            current[a.merchant_id] = a
        elif a.verified_at is None and a.rejected_at is None:
            pending[a.merchant_id] = a
        elif a.rejected_at is not None:
            rejected[a.merchant_id] = a
    cool = cooloff_until(merchant_ids)
    rows = [queue_row(b, latest.get(b.id), current.get(b.merchant_id), pending.get(b.merchant_id),
                 rejected.get(b.merchant_id), cool.get(b.merchant_id)) for b in batches]
    return Page(rows, page.next, page.prev, page.is_first)


def queue_row(b: SettlementBatch, p: Payout | None, acct: SettlementAccount | None, pending: SettlementAccount | None,
         rejected: SettlementAccount | None, cool: Any = None) -> QueueRow:
    if b.status == BatchStatus.HELD:
        state = "held"
    elif p is not None and p.status == PayoutStatus.RETRYING:
        state = "retrying"
    elif p is not None and p.status == PayoutStatus.STOPPED and b.status == BatchStatus.DUE:
        state = "stopped"
    else:
        state = "returned"
    row = QueueRow(b, p, state, acct)
    row.can_repay = b.status in (BatchStatus.RETURNED, BatchStatus.HELD)
    # A due batch can be held while its attempt has not reached the bank (it is checked
    # again before any send); one with an attempt the bank has accepted cannot.
    open_attempt = p is not None and p.status in (PayoutStatus.SUBMITTING, PayoutStatus.RETRYING,
                                                  PayoutStatus.STOPPED)
    row.can_hold = b.status == BatchStatus.RETURNED or (b.status == BatchStatus.DUE and open_attempt)
    row.can_cancel = p is not None and p.status in (PayoutStatus.SUBMITTING, PayoutStatus.RETRYING)
    if p is not None and p.status == PayoutStatus.STOPPED:
        why = STOP_REASONS.get(p.stop_reason)
        detail = f"（{p.stop_detail}）" if p.stop_detail else ""
        row.stop_zh = f"未发送：{why.zh if why else p.stop_reason}{detail}"
        row.stop_en = f"Not sent: {why.en if why else p.stop_reason}{f' ({p.stop_detail})' if p.stop_detail else ''}"
    masked = acct.masked_number if acct else "—"
    returned = p is not None and p.status == PayoutStatus.RETURNED
    if cool is not None and pending is None:
        until = cool.astimezone(clock.business_tz()).strftime("%Y-%m-%d %H:%M")
        row.account_zh = f"{masked}：账户变更后冷静期，{until} 前不出款"
        row.account_en = f"{masked}: waiting for the cool-off after the account change until {until}"
    elif pending is not None:
        row.account_zh = f"账户变更（{pending.masked_number}）待银行验证，验证前不出款"
        row.account_en = f"Account change ({pending.masked_number}) awaiting bank verification; no payout until then"
    elif returned and acct is not None and p is not None and acct.id != p.account_id and acct.verified_at:
        row.corrected = True
        row.account_zh = f"已更正并验证：{masked}（{acct.verified_at:%Y-%m-%d}）"
        row.account_en = f"Corrected and verified: {masked} ({acct.verified_at:%Y-%m-%d})"
    elif returned and rejected is not None and p is not None and p.finished_at and rejected.rejected_at \
            and rejected.rejected_at > p.finished_at:
        row.account_zh = f"更正未通过银行验证：{rejected.rejection_reason}"
        row.account_en = f"Correction not verified by the bank: {rejected.rejection_reason}"
    elif returned:
        row.account_zh = f"未更正（仍为 {masked}），重新付款可能再次被退回"
        row.account_en = f"Not corrected (still {masked}); a re-pay may be returned again"
    else:
        verified = "已验证" if acct and acct.verified_at else "未验证"
        row.account_zh = f"{masked}（{verified}）"
        row.account_en = f"{masked} ({'verified' if acct and acct.verified_at else 'not verified'})"
    return row


def batch_row(b: SettlementBatch) -> QueueRow:
    """The queue row of one batch, so an action page shows what the queue showed."""
    p = Payout.objects.filter(merchant_id=b.merchant_id, batch=b).order_by("-attempt").first()
    if p is not None:
        with_accounts([p])
    accounts = list(SettlementAccount.objects.filter(merchant_id=b.merchant_id).order_by("created_at"))
    current = next((a for a in accounts if a.is_current), None)
    pending = next((a for a in accounts if not a.is_current and not a.verified_at and not a.rejected_at), None)
    rejected = next((a for a in reversed(accounts) if a.rejected_at), None)
    return queue_row(b, p, current, pending, rejected, cooloff_until([b.merchant_id]).get(b.merchant_id))
