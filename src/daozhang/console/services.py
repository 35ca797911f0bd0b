"""The few console actions no domain service covers yet, each one audited transaction.

Support cases had only `open_case`; alerts are resolved by the jobs that raised them
without an audit record (a job is not a person). When staff do these things, who and why
must be in the audit log, in the same transaction as the change. These would sit well in
support/services.py and core/alerts.py; they live here until those packages' owners take
them, so the console never writes a model without an audit record.
"""

from __future__ import annotations

import logging
import uuid

from django.db import transaction

from daozhang.audit import services as audit
from daozhang.core import clock
from daozhang.core.alerts import resolve_alert
from daozhang.core.errors import DomainError
from daozhang.core.models import Alert
from daozhang.notifications.services import notify
from daozhang.settlement import payouts
from daozhang.settlement.models import Payout, PayoutStatus, SettlementBatch
from daozhang.support.models import CaseEvent, CaseStatus, SupportCase

log = logging.getLogger(__name__)

# Alerts that clear themselves when their cause is fixed: the console shows what fixes
# them instead of a "resolve" button that would only hide a problem still there.
# kind → (中文, English, command to run, if any)
SELF_RESOLVING: dict[str, tuple[str, str, str]] = {
    "calendar_gap": ("导入该年官方放假安排后自动关闭，在服务器上运行：",
                     "Closes by itself once the year's official schedule is loaded; on the server run:",
                     "daozhang calendar load FILE"),
    "payout_stuck": ("银行受理该笔出款后自动关闭；请联系银行或检查出款通道。",
                     "Closes by itself once the bank accepts the payout; contact the bank or check the payout channel.",
                     ""),
}
# Alerts a person closes after acting: what to do first.
TO_DO: dict[str, tuple[str, str, str]] = {
    "settlement_behind": ("先逐日补结算，再关闭告警：", "Settle the missed days first, then resolve:",
                          "daozhang settle --date D"),
}

IN_FLIGHT = (PayoutStatus.SUBMITTING, PayoutStatus.ACCEPTED, PayoutStatus.RETRYING)


def _text(value: str, field: str, limit: int) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise DomainError("required", field)
    return cleaned[:limit]


def hold_batch(*, batch_id: uuid.UUID, actor: str, reason: str) -> SettlementBatch:
    """Hold a batch, but never one whose payout attempt is still with the bank.

    `payouts.hold_batch` accepts any due batch; a due batch can have an attempt waiting to
    be retried after a bank outage, and the payout run would still send that attempt. The
    console refuses rather than show "held" for money that is about to leave.
    """
    why = _text(reason, "reason", 300)
    with transaction.atomic():
        SettlementBatch.objects.select_for_update().filter(id=batch_id).first()
        if Payout.objects.filter(batch_id=batch_id, status__in=IN_FLIGHT).exists():
            raise DomainError("bad_transition", "status",
                              {"current": ("payout in flight", "出款处理中"), "target": ("held", "暂缓出款")}, 409)
        return payouts.hold_batch(batch_id=batch_id, actor=actor, reason=why)


def repay_batch(*, batch_id: uuid.UUID, actor: str, reason: str) -> SettlementBatch:
    """Release a returned or held batch for payment and ask the worker to pay now.

    The batch is not sent to the bank from here: `payouts.start_payout` skips the checks
    `payable_batches` makes (merchant active, no account change pending verification),
    and repeating them would be a second copy of the payout rules. The payout run is
    enqueued after commit instead, so a running worker pays within seconds; without one
    the next scheduled run (every five minutes) does.
    """
    why = _text(reason, "reason", 300)
    batch = payouts.repay_batch(batch_id=batch_id, actor=actor, reason=why)
    transaction.on_commit(_enqueue_payout_run)
    return batch


def _enqueue_payout_run() -> None:
    from daozhang.settlement.tasks import pay_due_batches

    try:
        pay_due_batches.enqueue()
    except Exception:  # the batch is due either way: the scheduled run pays it
        log.exception("could not enqueue the payout run after a re-pay")


def add_case_note(*, case_id: uuid.UUID, note: str, actor: str) -> CaseEvent:
    text = _text(note, "note", 2000)
    with transaction.atomic():
        case = SupportCase.objects.select_for_update().filter(id=case_id).first()
        if case is None:
            raise DomainError("not_found", "case_id", status=404)
        now = clock.now()
        event = CaseEvent.objects.create(case=case, at=now, actor=actor, note=text)
        case.updated_at = now
        case.save(update_fields=["updated_at"])
        audit.record(actor=actor, action="support.note", obj_type="support_case", obj_id=case.id,
                     merchant_id=case.merchant_id, after={"case_no": case.case_no, "note": text})
    return event


def set_case_status(*, case_id: uuid.UUID, status: str, note: str, actor: str) -> SupportCase:
    """Move a case; resolving one tells the merchant, with the note as the answer."""
    if status not in CaseStatus.values:
        raise DomainError("invalid", "status")
    text = _text(note, "note", 2000)
    with transaction.atomic():
        case = SupportCase.objects.select_for_update().select_related("merchant").filter(id=case_id).first()
        if case is None:
            raise DomainError("not_found", "case_id", status=404)
        if case.status == status:
            raise DomainError("bad_transition", "status", {"current": case.status, "target": status}, 409)
        before, now = case.status, clock.now()
        case.status, case.updated_at = status, now
        case.save(update_fields=["status", "updated_at"])
        CaseEvent.objects.create(case=case, at=now, actor=actor, note=f"[{before} → {status}] {text}")
        audit.record(actor=actor, action="support.status", obj_type="support_case", obj_id=case.id,
                     merchant_id=case.merchant_id, before={"status": before},
                     after={"status": status, "note": text})
        if status == CaseStatus.RESOLVED:
            notify(case.merchant, "case_resolved", en=f"Case {case.case_no} is resolved: {text}",
                   zh=f"工单 {case.case_no} 已处理完毕：{text}")
    return case


def resolve_alert_by_staff(*, alert_id: int, note: str, actor: str) -> Alert:
    """Close an alert a person has dealt with (self-resolving kinds are refused)."""
    text = _text(note, "note", 300)
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(id=alert_id).first()
        if alert is None:
            raise DomainError("not_found", "alert_id", status=404)
        if alert.resolved_at is not None:
            raise DomainError("bad_transition", "status", {"current": "resolved", "target": "resolved"}, 409)
        if alert.kind in SELF_RESOLVING:
            raise DomainError("invalid", "kind")
        resolve_alert(alert.kind, alert.key)
        audit.record(actor=actor, action="alert.resolve", obj_type="alert", obj_id=alert.id,
                     before={"kind": alert.kind, "key": alert.key, "resolved": False,
                             "message": alert.message_en},
                     after={"resolved": True, "note": text})
        alert.refresh_from_db()
    return alert
