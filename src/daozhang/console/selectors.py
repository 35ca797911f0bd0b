"""Reads for console pages: queues, their counts, and keyset pages.

Keyset pagination (the last row's sort key, not an offset) keeps page 1,000 of the audit
log as fast as page 1 and never skips or repeats a row when new events arrive meanwhile.
The cursor is the last row's primary key; its sort values are read back from the table,
so the URL carries one opaque id instead of timestamps to parse.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet

from daozhang.core.models import Alert
from daozhang.merchants.models import SettlementAccount
from daozhang.settlement.models import BatchStatus, Payout, PayoutStatus, SettlementBatch
from daozhang.support.models import CaseStatus, SupportCase

M = TypeVar("M", bound=Model)
T = TypeVar("T")
PAGE = 50


@dataclass
class Page(Generic[T]):
    rows: list[T]
    next_cursor: str = ""  # pass as `after` for the next page
    is_first: bool = True
    prev_cursor: str = ""  # pass as `before` for the previous page


def _flipped(order: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(o[1:] if o.startswith("-") else f"-{o}" for o in order)


def _beyond(qs: QuerySet[M], order: tuple[str, ...], last: dict[str, Any]) -> QuerySet[M]:
    """The rows of `qs` that come after the row whose sort values are `last`, in `order`."""
    fields = [o.lstrip("-") for o in order]
    # The plain bound on the leading column first: with only the OR below, the databases
    # cannot use an index on it as a range (bench/portal.py measured the same shape on
    # payments: seconds instead of a millisecond on a million rows).
    lead = fields[0]
    qs = qs.filter(**{f"{lead}__{'lte' if order[0].startswith('-') else 'gte'}": last[lead]})
    # (a, b) after (x, y) in this order: a beyond x, or a = x and b beyond y, …
    cond = Q()
    for i, o in enumerate(order):
        step = Q(**{f"{fields[i]}__{'lt' if o.startswith('-') else 'gt'}": last[fields[i]]})
        for prior in fields[:i]:
            step &= Q(**{prior: last[prior]})
        cond |= step
    return qs.filter(cond)


def keyset(qs: QuerySet[M], order: tuple[str, ...], cursors: Mapping[str, str], size: int = PAGE) -> Page[M]:
    """One page of `qs` sorted by `order` (last item the unique tie-break): the rows after
    the row `cursors["after"]`, or — going back — the rows before the row
    `cursors["before"]`, read in the opposite order and shown in this one (so "previous" is
    as fast as "next"). `cursors` is the page's query string."""
    fields = [o.lstrip("-") for o in order]
    after, before = cursors.get("after", ""), cursors.get("before", "")

    def position(cursor: str) -> dict[str, Any] | None:
        try:
            return qs.model._default_manager.filter(pk=cursor).values(*fields).first()
        except (ValueError, ValidationError):  # a malformed cursor: start from the top
            return None

    back = position(before) if before else None
    if back is not None:
        rows = list(_beyond(qs.order_by(*_flipped(order)), _flipped(order), back)[: size + 1])
        more = len(rows) > size
        rows = rows[:size][::-1]
        return Page(rows, str(rows[-1].pk) if rows else "", not more, str(rows[0].pk) if more and rows else "")
    last = position(after) if after else None
    qs = qs.order_by(*order)
    if last is not None:
        qs = _beyond(qs, order, last)
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    # A page reached by a cursor has rows before it: the ones it was reached from.
    return Page(rows, str(rows[-1].pk) if more and rows else "", last is None,
                str(rows[0].pk) if last is not None and rows else "")


def queue_filter() -> Q:
    """Batches staff must look at: returned by the bank, held, or stuck on a bank outage."""
    retrying = Payout.objects.filter(status=PayoutStatus.RETRYING).values("batch_id")
    return Q(status__in=[BatchStatus.RETURNED, BatchStatus.HELD]) | Q(id__in=retrying)


def queue_counts(user: Any) -> list[dict[str, Any]]:
    """The home page's figures: only the queues this user may open."""
    out: list[dict[str, Any]] = []
    if user.has_perm("settlement.view_settlementbatch"):
        qs = SettlementBatch.objects.filter(queue_filter())
        returned = qs.filter(status=BatchStatus.RETURNED).count()
        held = qs.filter(status=BatchStatus.HELD).count()
        retrying = Payout.objects.filter(status=PayoutStatus.RETRYING).count()
        out += [
            {"id": "returned", "zh": "出款退回", "en": "Payouts returned", "n": returned,
             "url": "console:payouts", "query": "?state=returned"},
            {"id": "retrying", "zh": "出款失败重试中", "en": "Payouts failing (bank unavailable)", "n": retrying,
             "url": "console:payouts", "query": "?state=retrying"},
            {"id": "held", "zh": "暂缓出款", "en": "Payouts held", "n": held,
             "url": "console:payouts", "query": "?state=held"},
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
    extra: dict[str, Any] = field(default_factory=dict)


def payout_queue(state: str, cursors: Mapping[str, str]) -> Page[QueueRow]:
    qs = SettlementBatch.objects.select_related("merchant").filter(queue_filter())
    if state == "returned":
        qs = qs.filter(status=BatchStatus.RETURNED)
    elif state == "held":
        qs = qs.filter(status=BatchStatus.HELD)
    elif state == "retrying":
        qs = qs.filter(id__in=Payout.objects.filter(status=PayoutStatus.RETRYING).values("batch_id"))
    page = keyset(qs, ("payout_date", "id"), cursors)
    batches = page.rows
    latest: dict[uuid.UUID, Payout] = {}
    for p in Payout.objects.select_related("account").filter(batch_id__in=[b.id for b in batches]).order_by(
            "batch_id", "attempt"):
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
    rows = [queue_row(b, latest.get(b.id), current.get(b.merchant_id), pending.get(b.merchant_id),
                 rejected.get(b.merchant_id)) for b in batches]
    return Page(rows, page.next_cursor, page.is_first, page.prev_cursor)


def queue_row(b: SettlementBatch, p: Payout | None, acct: SettlementAccount | None, pending: SettlementAccount | None,
         rejected: SettlementAccount | None) -> QueueRow:
    if p is not None and p.status == PayoutStatus.RETRYING:
        state = "retrying"
    else:
        state = "held" if b.status == BatchStatus.HELD else "returned"
    row = QueueRow(b, p, state, acct)
    row.can_repay = b.status in (BatchStatus.RETURNED, BatchStatus.HELD)
    row.can_hold = b.status == BatchStatus.RETURNED
    masked = acct.masked_number if acct else "—"
    returned = p is not None and p.status == PayoutStatus.RETURNED
    if pending is not None:
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
    p = Payout.objects.select_related("account").filter(batch=b).order_by("-attempt").first()
    accounts = list(SettlementAccount.objects.filter(merchant_id=b.merchant_id).order_by("created_at"))
    current = next((a for a in accounts if a.is_current), None)
    pending = next((a for a in accounts if not a.is_current and not a.verified_at and not a.rejected_at), None)
    rejected = next((a for a in reversed(accounts) if a.rejected_at), None)
    return queue_row(b, p, current, pending, rejected)
