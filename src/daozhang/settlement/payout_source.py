"""What a trace of a batch says about its payout being held back (`settlement.sources`).

Not a money flow (no figures, no tallies): a source for its notes only, so the portal's
settlement page, the API's trace and the missing-money enquiry all say why a due batch
has not left yet — the cool-off after an account change, or an attempt stopped before
sending — in the words of the trace catalogue, without tracing knowing about payouts'
checks.
"""

from __future__ import annotations

import datetime as dt
import uuid

from daozhang.core import clock
from daozhang.settlement.models import BatchStatus, Payout, PayoutStatus, SettlementBatch
from daozhang.settlement.payouts import STOP_REASONS, cooloff_until
from daozhang.settlement.sources import Line, Note, Source, Wording


def _lines(merchant_id: uuid.UUID, day: dt.date) -> list[Line]:
    return []


def _notes(merchant_id: uuid.UUID, day: dt.date) -> list[Note]:
    batch = (SettlementBatch.objects.filter(merchant_id=merchant_id, settlement_date=day)
             .values_list("id", "status").first())
    if batch is None or batch[1] not in (BatchStatus.DUE, BatchStatus.HELD):
        return []
    notes = []
    until = cooloff_until([merchant_id]).get(merchant_id)
    if until is not None and batch[1] == BatchStatus.DUE:
        notes.append(Note("payout_cooloff", {
            "until": until.astimezone(clock.business_tz()).strftime("%Y-%m-%d %H:%M")}))
    last = Payout.objects.filter(batch_id=batch[0]).order_by("-attempt").first()
    if last is not None and last.status == PayoutStatus.STOPPED:
        why = STOP_REASONS.get(last.stop_reason)
        notes.append(Note("payout_stopped", {
            "attempt": last.attempt, "reason": (why.en, why.zh) if why else last.stop_reason,
            "when": last.finished_at.astimezone(clock.business_tz()).strftime("%Y-%m-%d %H:%M")
            if last.finished_at else "—"}))
    return notes


PAYOUT_CHECKS = Source(
    name="payout_checks", position=90, figures=(), tallies=(), lines=_lines, notes=_notes,
    wordings=(
        Wording("payout_cooloff", ("Waiting for the cool-off after an account change", "账户变更冷静期"),
                ("Your settlement account was changed recently: for your protection nothing is paid out until "
                 "{until} (waiting for the cool-off until {until}).",
                 "您的结算账户最近已变更：为保护资金安全，{until} 前暂不出款（冷静期至 {until}）。"),
                ("If you did not change the account, call customer service at once.",
                 "如非您本人变更账户，请立即联系客服。")),
        Wording("payout_stopped", ("Payout stopped before it was sent", "出款在发送前被拦截"),
                ("Payout attempt {attempt} was stopped on {when} before it reached the bank: {reason}. No money "
                 "left; the batch is paid once the cause is resolved.",
                 "第 {attempt} 次出款于 {when} 在发往银行前被拦截：{reason}。款项未付出，原因解决后将重新出款。"),
                ("Contact customer service if it is not resolved soon.", "如长时间未解决，请联系客服。")),
    ),
)
