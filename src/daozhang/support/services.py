"""Opening and working customer-service cases."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from daozhang.audit import services as audit
from daozhang.core import clock
from daozhang.merchants.models import Merchant
from daozhang.notifications.services import notify
from daozhang.support.models import CaseEvent, SupportCase


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
                CaseEvent.objects.create(case=case, at=now, actor=actor, note=subject)
                audit.record(actor=actor, action="support.open", obj_type="support_case", obj_id=case.id,
                             merchant_id=merchant.id, after={"case_no": case.case_no, "kind": kind})
                break
        except IntegrityError:
            continue  # two cases opened at once took the same number: take the next
    else:
        raise RuntimeError("could not number the support case")
    notify(merchant, "case_opened", en=f"We opened case {case.case_no} and will answer you: {subject}",
           zh=f"已为您创建工单 {case.case_no}，客服将尽快答复：{subject}")
    return case
