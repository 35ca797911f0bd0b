"""Where is my money: the timeline, the cause and the expected arrival of a payment, a
settlement batch, or a merchant's day. Read-only; every answer is built from the records
the money flows wrote (payments, events, batches, payouts, holds, adjustments, audit)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from daozhang.channels.bank import RETURN_REASONS
from daozhang.core import clock
from daozhang.core.errors import NotFound
from daozhang.core.money import Money
from daozhang.dates.calendar import CalendarGap
from daozhang.dates.cycles import payout_date_for
from daozhang.merchants.models import Merchant, SettlementAccount
from daozhang.payments.models import Payment, PaymentStatus
from daozhang.risk.models import RiskHold
from daozhang.settlement.breakdown import batch_formula, day_figures, day_net, formula
from daozhang.settlement.models import BatchStatus, PayoutStatus, SettlementBatch
from daozhang.settlement.payouts import batch_payouts
from daozhang.settlement.sources import all_notes
from daozhang.tracing.causes import cause

CHANNEL_NAMES = {"card": ("card network", "银联/发卡行"), "wechat": ("WeChat Pay", "微信支付"),
                 "alipay": ("Alipay", "支付宝")}
RULES = {"T1": ("T+1: the next working day after the settlement date", "T+1：结算日后的下一个工作日"),
         "D0": ("D0: the same day", "D0：当日到账")}


@dataclass
class Event:
    at: dt.datetime
    en: str
    zh: str


@dataclass
class Trace:
    subject: str  # "payment" | "batch" | "day"
    ref: str
    cause: str
    params: dict[str, Any]
    amount: int
    expected_arrival: dt.date | None
    timeline: list[Event] = field(default_factory=list)
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refs: dict[str, str] = field(default_factory=dict)

    def render(self, lang: str) -> dict[str, Any]:
        zh = lang.startswith("zh")
        i = 1 if zh else 0

        def fmt(code: str, raw: dict[str, Any]) -> dict[str, str]:
            c = cause(code)
            params = {k: (v[i] if isinstance(v, tuple) else v) for k, v in raw.items()}
            explain, step = _fill(c.explain[i], params), _fill(c.next_step[i], params)
            if zh:  # no space after full-width punctuation, where a parameter ends with one
                explain, step = (re.sub(r"([）」，。：；])\s+", r"\1", text) for text in (explain, step))
            return {"code": code, "title": c.title[i], "explanation": explain, "next_step": step}

        return {
            "subject": self.subject, "ref": self.ref, "amount": self.amount,
            "amount_display": Money(self.amount).display(),
            "expected_arrival": self.expected_arrival.isoformat() if self.expected_arrival else None,
            "cause": fmt(self.cause, self.params),
            "notes": [fmt(code, params) for code, params in self.notes],
            "timeline": [{"at": e.at.astimezone(clock.business_tz()).isoformat(), "event": e.zh if zh else e.en}
                         for e in sorted(self.timeline, key=lambda e: e.at)],
            "refs": self.refs,
        }


class _Safe(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "—"


def _fill(template: str, params: dict[str, Any]) -> str:
    return template.format_map(_Safe(params))


def _local(at: dt.datetime | None) -> str:
    return at.astimezone(clock.business_tz()).strftime("%Y-%m-%d %H:%M") if at else "—"


def _money(fen: int) -> str:
    return Money(fen).display()


def trace_payment(merchant: Merchant, payment_id: uuid.UUID, payment: Payment | None = None) -> Trace:
    """`payment`, when the caller already read it (a page showing it), saves reading it again."""
    p = payment if payment is not None and payment.merchant_id == merchant.id and payment.id == payment_id else (
        Payment.objects.select_related("terminal", "merchant").filter(merchant=merchant, id=payment_id).first())
    if p is None:
        raise NotFound("payment_id")
    ch_en, ch_zh = CHANNEL_NAMES[p.channel]
    timeline = [Event(p.created_at, f"Sale of {_money(p.amount)} on terminal {p.terminal.terminal_id} "
                                    f"(STAN {p.stan}): {p.status}, response {p.response_code}",
                      f"终端 {p.terminal.terminal_id}（流水号 {p.stan}）消费 {_money(p.amount)}："
                      f"{p.get_status_display()}，应答码 {p.response_code}")]
    for ev in p.events.order_by("at"):
        timeline.append(Event(ev.at, f"{ev.kind.replace('_', ' ')} ({ev.response_code}) {ev.detail}".strip(),
                              f"{ev.kind}（{ev.response_code}）{ev.detail}".strip()))
    refs = {"payment_id": str(p.id)}
    base = {"channel": (ch_en, ch_zh), "code": p.response_code, "reason": p.response_message,
            "amount": _money(p.net or p.amount - p.fee)}
    trace = Trace("payment", str(p.id), "declined", base, 0, None, timeline, refs=refs)
    if p.status in (PaymentStatus.DECLINED, PaymentStatus.FAILED):
        trace.cause = "channel_outage" if p.response_code in ("96", "91") else "declined"
        return trace
    if p.status == PaymentStatus.UNKNOWN:
        deadline = p.created_at + dt.timedelta(seconds=settings.UNKNOWN_PAYMENT_REVERSAL_SECONDS)
        card = p.channel == "card"
        trace.cause = "unknown"
        trace.params.update(deadline=_local(deadline),
                            resolution=("reversed", "冲正") if card else ("confirmed or closed", "确认或关闭"))
        return trace
    if p.status in (PaymentStatus.VOIDED, PaymentStatus.REVERSED):
        when = p.voided_at or p.reversed_at
        trace.cause = "undone"
        trace.params.update(how=("voided", "撤销") if p.status == PaymentStatus.VOIDED else ("reversed", "冲正"),
                            when=_local(when))
        return trace
    trace.amount = p.net
    hold = RiskHold.objects.filter(payment=p, released_at__isnull=True).first()
    if hold is not None:
        trace.cause = "frozen"
        trace.params.update(amount=_money(hold.amount), case=hold.case_ref, since=_local(hold.created_at),
                            reason=hold.reason)
        timeline.append(Event(hold.created_at, f"Frozen under case {hold.case_ref}", f"因案件 {hold.case_ref} 冻结"))
        return trace
    day = p.settlement_date or p.business_date  # rows booked before settlement dates were stamped
    batch = SettlementBatch.objects.filter(merchant=merchant, settlement_date=day).first()
    if batch is None:
        return _not_settled(trace, merchant, day, p.net)
    refs["batch_id"] = str(batch.id)
    if batch.net != p.net:
        # The batch's sentences say what was paid or sent: the payment's own share and the
        # transfer's total, each labelled (issue 13 item 1: "¥28.85 was paid" of a ¥23,302.52
        # transfer read as if the bank had paid ¥28.85).
        trace.params["amount"] = (f"{_money(p.net)} of this payment (batch total {_money(batch.net)})",
                                  f"本笔 {_money(p.net)}（所在批次合计 {_money(batch.net)}）")
    return _batch_state(trace, batch)


def _not_settled(trace: Trace, merchant: Merchant, settlement_date: dt.date, amount: int) -> Trace:
    cycle = merchant.settlement_cycle
    try:
        expected = payout_date_for(settlement_date, cycle)
    except CalendarGap as gap:
        trace.cause = "calendar_gap"
        trace.params.update(year=gap.year)
        return trace
    trace.cause = "not_due"
    trace.expected_arrival = expected
    trace.params.update(amount=_money(amount), cycle=RULES[cycle][0].split(":")[0], settlement_date=settlement_date,
                        expected=expected, rule=RULES[cycle][0])
    return trace


def trace_batch(merchant: Merchant, batch_id: uuid.UUID) -> Trace:
    batch = SettlementBatch.objects.filter(merchant=merchant, id=batch_id).first()
    if batch is None:
        raise NotFound("batch_id")
    trace = Trace("batch", str(batch.id), "not_due", {}, batch.net, None, [], refs={"batch_id": str(batch.id)})
    return _batch_state(trace, batch)


def trace_day(merchant: Merchant, day: dt.date) -> Trace:
    batch = SettlementBatch.objects.filter(merchant=merchant, settlement_date=day).first()
    if batch is not None:
        trace = Trace("day", day.isoformat(), "not_due", {}, batch.net, None, [], refs={"batch_id": str(batch.id)})
        return _batch_state(trace, batch)
    figures = day_figures(merchant.id, day)
    net = day_net(figures)
    trace = Trace("day", day.isoformat(), "not_due", {}, net, None, [])
    en, zh = (formula(figures, carried_in=0, d0_fee=0, net=net, zh=lang) for lang in (False, True))
    trace.timeline.append(Event(clock.now(), f"Not settled yet: {en}", f"尚未结算：{zh}"))
    return _not_settled(trace, merchant, day, net)


def _batch_state(trace: Trace, batch: SettlementBatch) -> Trace:
    merchant = batch.merchant
    t = trace.timeline
    t.append(Event(batch.created_at, f"Settled: batch of {batch.settlement_date}, {batch_formula(batch, zh=False)}",
                   f"已结算：{batch.settlement_date} 批次，{batch_formula(batch, zh=True)}"))
    trace.notes.extend((note.code, note.params) for note in all_notes(merchant.id, batch.settlement_date))
    params = trace.params
    params.setdefault("amount", _money(batch.net))  # a payment's trace keeps the payment's own net
    params.update(settlement_date=batch.settlement_date, net=_money(batch.net),
                  expected=batch.payout_date, cycle=batch.cycle, rule=RULES[batch.cycle])
    trace.amount = trace.amount or batch.net
    trace.expected_arrival = batch.payout_date
    if batch.status == BatchStatus.CARRIED:
        negative = batch.net <= 0
        params.update(why=("less than nothing (refunds, reversals or deductions exceeded sales)",
                           "为负（退款、冲正或扣款超过交易）") if negative
                      else (f"below the minimum payout of {_money(settings.MIN_PAYOUT_FEN)}",
                            f"低于最低出款金额 {_money(settings.MIN_PAYOUT_FEN)}"))
        trace.cause = "carried_forward"
        trace.expected_arrival = None
        if batch.carried_to_id:
            nxt = SettlementBatch.objects.get(id=batch.carried_to_id)
            t.append(Event(nxt.created_at, f"Carried into the batch of {nxt.settlement_date}",
                           f"结转至 {nxt.settlement_date} 批次"))
            trace.refs["carried_to_batch_id"] = str(nxt.id)
            inner = _batch_state(Trace("batch", str(nxt.id), "not_due", {}, nxt.net, None, []), nxt)
            t.extend(inner.timeline)
            trace.cause, trace.params, trace.expected_arrival = inner.cause, inner.params, inner.expected_arrival
        return trace
    if batch.status == BatchStatus.HELD:
        trace.cause = "held"
        if merchant.status != "active":
            params.update(why=(f"settlement of your merchant account is suspended ({merchant.status})",
                               f"商户结算已暂停（{merchant.get_status_display()}）"))
        else:
            params.update(why=("operations are reviewing it", "运营人员正在审核"))
        trace.expected_arrival = None
        return trace
    payouts = batch_payouts(batch)
    for po in payouts:
        acct = po.account.masked_number
        if po.submitted_at:
            t.append(Event(po.submitted_at, f"Payout #{po.attempt} of {_money(po.amount)} sent to {acct}",
                           f"第 {po.attempt} 次出款 {_money(po.amount)} 已发往 {acct}"))
        if po.status == PayoutStatus.PAID and po.finished_at:
            t.append(Event(po.finished_at, f"Arrived, bank reference {po.bank_ref}",
                           f"已到账，银行流水号 {po.bank_ref}"))
        if po.status == PayoutStatus.RETURNED and po.finished_at:
            t.append(Event(po.finished_at, f"Returned by the bank: {po.return_reason}",
                           f"银行退回：{po.return_reason}"))
    last = payouts[-1] if payouts else None
    if batch.status == BatchStatus.PAID and last is not None:
        trace.cause = "arrived"
        params.update(account=f"{last.account.bank_name} {last.account.masked_number}",
                      paid_at=_local(last.finished_at),
                      bank_ref=last.bank_ref)
        trace.expected_arrival = clock.business_date(last.finished_at) if last.finished_at else batch.payout_date
        trace.refs["payout_id"] = str(last.id)
        return trace
    if batch.status == BatchStatus.IN_TRANSIT and last is not None:
        trace.cause = "payout_in_transit"
        params.update(account=last.account.masked_number, submitted=_local(last.submitted_at))
        trace.refs["payout_id"] = str(last.id)
        return trace
    if batch.status == BatchStatus.RETURNED and last is not None:
        fix = RETURN_REASONS.get(last.return_code, ("", "", "Correct your settlement account / 请更正结算账户"))[2]
        fix_en, _, fix_zh = fix.partition(" / ")
        trace.cause = "payout_returned"
        known = RETURN_REASONS.get(last.return_code)
        reason = (known[0], known[1]) if known else last.return_reason
        params.update(account=last.account.masked_number, reason=reason, fix=(fix_en, fix_zh))
        trace.expected_arrival = None
        trace.refs["payout_id"] = str(last.id)
        return _pending_change(trace, merchant)
    # DUE: waiting for its payout date, the payout run, the bank, or an account check.
    if last is not None and last.status == PayoutStatus.RETRYING:
        trace.cause = "bank_outage"
        params.update(next_try=_local(last.next_try_at))
        trace.expected_arrival = None
        return trace
    _pending_change(trace, merchant)
    if trace.cause == "account_change_pending":
        return trace
    trace.cause = "payout_pending" if batch.payout_date <= clock.business_date() else "not_due"
    return trace


def _pending_change(trace: Trace, merchant: Merchant) -> Trace:
    pending = SettlementAccount.objects.filter(merchant=merchant, is_current=False, verified_at__isnull=True,
                                               rejected_at__isnull=True).first()
    if pending is not None:
        trace.timeline.append(Event(pending.created_at, f"New settlement account {pending.masked_number} submitted",
                                    f"已提交新结算账户 {pending.masked_number}"))
        trace.cause = "account_change_pending"
        trace.params.update(account=pending.masked_number)
    return trace
