"""Opening and working customer-service cases; every step is in the audit log."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction

from daozhang.audit import services as audit
from daozhang.core import clock
from daozhang.core.errors import DomainError
from daozhang.core.events import emit
from daozhang.merchants.models import Merchant
from daozhang.merchants.validation import clean_required
from daozhang.support.models import CaseEvent, CaseStatus, SupportCase


def open_case(*, merchant: Merchant, kind: str, subject: str, diagnosis: dict[str, Any], actor: str) -> SupportCase:
    now = clock.now()
    for _ in range(5):
        try:
            with transaction.atomic():
                prefix = f"CS{clock.business_date(now):%Y%m%d}"  # the Shanghai date, not UTC
                seq = SupportCase.objects.filter(case_no__startswith=prefix).count() + 1
                case = SupportCase.objects.create(
                    case_no=f"{prefix}{seq:05d}", merchant=merchant, kind=kind,
                    subject=subject[:200], diagnosis=diagnosis, created_at=now, updated_at=now)
                CaseEvent.objects.create(case=case, merchant_id=case.merchant_id, at=now, actor=actor, note=subject)
                audit.record(actor=actor, action="support.open", obj_type="support_case", obj_id=case.id,
                             merchant_id=merchant.id, after={"case_no": case.case_no, "kind": kind})
                emit("case_opened", merchant_id=merchant.id,
                     data={"case_id": str(case.id), "case_no": case.case_no, "subject": subject})
                break
        except IntegrityError:
            continue  # two cases opened at once took the same number: take the next
    else:
        raise RuntimeError("could not number the support case")
    return case


def add_case_note(*, case_id: uuid.UUID, note: str, actor: str) -> CaseEvent:
    text = clean_required(note, "note", 2000)
    with transaction.atomic():
        case = SupportCase.objects.lock(id=case_id)
        if case is None:
            raise DomainError("not_found", "case_id", status=404)
        now = clock.now()
        event = CaseEvent.objects.create(case=case, merchant_id=case.merchant_id, at=now, actor=actor, note=text)
        case.updated_at = now
        case.save(update_fields=["updated_at"])
        audit.record(actor=actor, action="support.note", obj_type="support_case", obj_id=case.id,
                     merchant_id=case.merchant_id, after={"case_no": case.case_no, "note": text})
    return event


def set_case_status(*, case_id: uuid.UUID, status: str, note: str, actor: str) -> SupportCase:
    """Move a case; resolving one tells the merchant, with the note as the answer."""
    if status not in CaseStatus.values:
        raise DomainError("invalid", "status")
    text = clean_required(note, "note", 2000)
    with transaction.atomic():
        case = SupportCase.objects.select_related("merchant").lock(id=case_id)
        if case is None:
            raise DomainError("not_found", "case_id", status=404)
        if case.status == status:
            raise DomainError("bad_transition", "status", {"current": case.status, "target": status}, 409)
        before, now = case.status, clock.now()
        case.status, case.updated_at = status, now
        case.save(update_fields=["status", "updated_at"])
        CaseEvent.objects.create(case=case, merchant_id=case.merchant_id, at=now, actor=actor,
                                 note=f"[{before} → {status}] {text}")
        audit.record(actor=actor, action="support.status", obj_type="support_case", obj_id=case.id,
                     merchant_id=case.merchant_id, before={"status": before},
                     after={"status": status, "note": text})
        if status == CaseStatus.RESOLVED:
            emit("case_resolved", merchant_id=case.merchant_id,
                 data={"case_id": str(case.id), "case_no": case.case_no, "note": text})
    return case
