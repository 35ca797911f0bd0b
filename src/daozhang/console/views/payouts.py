"""The payout queue: batches the bank returned, payouts failing on a bank outage, held batches."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from daozhang.console.forms import REASON, Field, Form
from daozhang.console.selectors import QueueRow, batch_row, payout_queue
from daozhang.console.views.common import Done, handle
from daozhang.core.money import Money
from daozhang.settlement import payouts
from daozhang.settlement.models import BatchStatus, Payout, PayoutStatus, SettlementBatch
from daozhang.web.access import staff_actor, staff_required
from daozhang.web.parse import split_label

STATES = (("", "全部", "All"), ("returned", "出款退回", "Returned"),
          ("retrying", "失败重试中", "Failing, retrying"), ("held", "暂缓出款", "Held"),
          ("stopped", "已拦截待重发", "Stopped, due again"))


@staff_required("settlement.view_settlementbatch")
@require_GET
def payout_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    if state not in {s for s, _, _ in STATES}:
        state = ""
    page = payout_queue(state, request.GET)
    return render(request, "console/payouts.html", {"section": "payouts", "page": page, "state": state,
                                                    "states": STATES})


def _row(batch_id: uuid.UUID) -> QueueRow:
    return batch_row(get_object_or_404(SettlementBatch.objects.select_related("merchant"), id=batch_id))


Summary = list[tuple[str, str, str | tuple[str, str]]]  # (label 中文, label English, value or (中文, English))


def _summary(row: QueueRow) -> Summary:
    b, p = row.batch, row.payout
    out: Summary = [
           ("商户", "Merchant", f"{b.merchant.short_name}（{b.merchant.merchant_no}）"),
           ("结算日", "Settlement date", b.settlement_date.isoformat()),
           ("出款日", "Payout date", b.payout_date.isoformat()),
           ("净额", "Net", Money(b.net).display()),
           ("批次状态", "Batch status", split_label(BatchStatus(b.status).label))]
    if p is not None and p.return_reason:
        out.append(("银行退回原因", "Bank's return reason", f"{p.return_code} {p.return_reason}"))
    if p is not None:
        out.append(("最近一次出款", "Last attempt", (
            f"第 {p.attempt} 次 · {Money(p.amount).display()} · {split_label(PayoutStatus(p.status).label)[0]}",
            f"#{p.attempt} · {Money(p.amount).display()} · {split_label(PayoutStatus(p.status).label)[1]}")))
    if row.stop_zh:
        out.append(("拦截原因", "Why it was stopped", (row.stop_zh, row.stop_en)))
    out.append(("结算账户", "Settlement account", (row.account_zh, row.account_en)))
    return out


@dataclass(frozen=True)
class _Action:
    """A batch action of the queue: the service that does it and what the page says."""

    service: Callable[..., SettlementBatch]
    title: tuple[str, str]
    done: tuple[str, str]  # "{who} {day}" filled in
    note: tuple[str, str]
    submit: tuple[str, str]
    submit_id: str


REPAY = _Action(
    payouts.repay_batch, ("重新付款", "Re-pay"),
    ("{who} {day} 批次已重新放入出款队列，后台出款任务将立即处理。",
     "{who}'s batch of {day} is due again; the payout job will pay it now."),
    ("确认后批次变为「待出款」，并立即启动后台出款任务（worker 运行时几秒内发出）；若 worker 未运行，则由下一次定时出款"
     "（每 5 分钟）发出。出款只付往已验证的当前结算账户；账户变更待验证期间不出款。",
     "The batch becomes due and the payout job is started at once (a running worker sends it within seconds); "
     "without a worker the next scheduled payout run (every five minutes) sends it. Money only goes to the current, "
     "verified settlement account, and waits while a change is pending."),
    ("确认重新付款", "Confirm re-pay"), "repay-submit")
HOLD = _Action(
    payouts.hold_batch, ("暂缓出款", "Hold payout"),
    ("{who} {day} 批次已暂缓出款。", "{who}'s batch of {day} is held."),
    ("暂缓后，即使账户更正也不会自动出款，须再次点「重新付款」。",
     "A held batch is not paid even after the account is corrected, until someone re-pays it."),
    ("确认暂缓", "Confirm hold"), "hold-submit")


def _batch_action(request: HttpRequest, batch_id: uuid.UUID, action: _Action) -> HttpResponse:
    row = _row(batch_id)
    b = row.batch
    form = Form.bound((REASON,), request.POST if request.method == "POST" else {})

    def run() -> Done:
        action.service(batch_id=b.id, actor=staff_actor(request), reason=form["reason"])
        who, day = b.merchant.short_name, b.settlement_date
        return (action.done[0].format(who=who, day=day), action.done[1].format(who=who, day=day),
                reverse("console:payouts"))

    return handle(request, form, run, "console/form.html", {
        "section": "payouts", "title_zh": action.title[0], "title_en": action.title[1],
        "summary": _summary(row), "note_zh": action.note[0], "note_en": action.note[1],
        "warn": action is REPAY and not row.corrected and row.state == "returned",
        "submit_zh": action.submit[0], "submit_en": action.submit[1], "submit_id": action.submit_id,
        "cancel": reverse("console:payouts"),
    })


@staff_required("settlement.view_settlementbatch", "settlement.change_settlementbatch")
def batch_repay(request: HttpRequest, batch_id: uuid.UUID) -> HttpResponse:
    return _batch_action(request, batch_id, REPAY)


@staff_required("settlement.view_settlementbatch", "settlement.change_settlementbatch")
def batch_hold(request: HttpRequest, batch_id: uuid.UUID) -> HttpResponse:
    return _batch_action(request, batch_id, HOLD)


THEN = Field("then", "撤销后批次", "Then the batch", "select", options=(
    (BatchStatus.HELD.value, "暂缓出款（须再点「重新付款」才会出款）", "held (paid only after someone re-pays it)"),
    (BatchStatus.DUE.value, "待出款（下一次出款任务重新发起）", "due (the next payout run makes a new attempt)")))


@staff_required("settlement.view_settlementbatch", "settlement.change_settlementbatch")
def payout_cancel(request: HttpRequest, payout_id: uuid.UUID) -> HttpResponse:
    """Cancel an attempt the bank has not accepted (issue 11, item 3): never sent afterwards."""
    p = get_object_or_404(Payout, id=payout_id)
    row = _row(p.batch_id)
    form = Form.bound((REASON, THEN), request.POST if request.method == "POST" else {},
                      initial={"then": BatchStatus.HELD.value})

    def run() -> Done:
        payouts.cancel_payout(payout_id=p.id, actor=staff_actor(request), reason=form["reason"],
                              then=form["then"] or BatchStatus.HELD.value)
        who, day = row.batch.merchant.short_name, row.batch.settlement_date
        return (f"{who} {day} 批次的第 {p.attempt} 次出款已撤销，未发往银行。",
                f"Attempt #{p.attempt} of {who}'s batch of {day} is cancelled; it was not sent to the bank.",
                reverse("console:payouts"))

    blocked = None
    if p.status in (PayoutStatus.ACCEPTED, PayoutStatus.PAID, PayoutStatus.RETURNED):
        blocked = ("银行已受理该笔出款，无法撤销。", "The bank has accepted this payout; it cannot be cancelled.")
    elif p.status == PayoutStatus.STOPPED:
        blocked = ("该笔出款已撤销或已拦截，未发往银行。",
                   "This attempt is already cancelled or stopped; it was not sent.")
    return handle(request, form, run, "console/form.html", {
        "section": "payouts", "title_zh": "撤销出款", "title_en": "Cancel payout attempt",
        "summary": _summary(row), "blocked": blocked if request.method != "POST" else None,
        "note_zh": "仅能撤销银行尚未受理的出款（提交中或银行故障重试中）。撤销后该次出款不会再发出，并记入审计日志。",
        "note_en": "Only an attempt the bank has not accepted (submitting, or retrying through a bank outage) can be "
                   "cancelled. It is never sent afterwards, and the cancel is kept in the audit log.",
        "submit_zh": "确认撤销", "submit_en": "Confirm cancel", "submit_id": "cancel-submit",
        "cancel": reverse("console:payouts"),
    })
