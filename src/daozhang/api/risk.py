"""Risk endpoints (staff): freeze a merchant's funds for a case, release them."""

from __future__ import annotations

import uuid
from typing import Annotated

from django.http import HttpResponse
from ninja import Router, Schema

from daozhang.access.api_auth import StaffPermission, StaffRequest, require_perm
from daozhang.core.http import STAFF_ERRORS as ERRORS
from daozhang.core.http import idempotent
from daozhang.core.inputs import AmountFen, Text
from daozhang.risk.services import hold_funds, release_hold

# Published beside the staff settlement endpoints, under their tag; the operationIds are
# the ones published when these lived in settlement/api.py.
staff_router = Router(tags=["staff: settlement and risk 运营：结算与风控"])


class HoldIn(Schema):
    case_ref: Annotated[str, Text(40)]
    reason: Annotated[str, Text(300)]
    amount: AmountFen | None = None
    payment_id: uuid.UUID | None = None


class NoteIn(Schema):
    note: Annotated[str, Text(300, required=False)] = ""


def _staff_scope(request: StaffRequest) -> str:
    return f"staff:{request.staff_user.id}"


@staff_router.post("/merchants/{merchant_id}/holds", auth=StaffPermission("risk.add_riskhold"),
                   response={201: dict, **ERRORS}, operation_id="daozhang_settlement_api_freeze",
                   summary="Freeze funds (risk/compliance) 冻结资金")
def freeze(request: StaffRequest, merchant_id: uuid.UUID, body: HoldIn) -> HttpResponse:
    actor = require_perm(request, "risk.add_riskhold")

    def run() -> tuple[int, object]:
        h = hold_funds(merchant_id=merchant_id, amount=body.amount, case_ref=body.case_ref, reason=body.reason,
                       actor=actor, payment_id=body.payment_id)
        return 201, {"id": str(h.id), "amount": h.amount, "case_ref": h.case_ref,
                     "settlement_date": h.settlement_date.isoformat()}

    return idempotent(request, _staff_scope(request), run)


@staff_router.post("/holds/{hold_id}/release", auth=StaffPermission("risk.change_riskhold"),
                   response={200: dict, **ERRORS}, operation_id="daozhang_settlement_api_release",
                   summary="Release frozen funds 解冻")
def release(request: StaffRequest, hold_id: uuid.UUID, body: NoteIn) -> HttpResponse:
    actor = require_perm(request, "risk.change_riskhold")

    def run() -> tuple[int, object]:
        h = release_hold(hold_id=hold_id, note=body.note, actor=actor)
        return 200, {"id": str(h.id), "released_at": h.released_at.isoformat() if h.released_at else None,
                     "release_settlement_date": str(h.release_settlement_date)}

    return idempotent(request, _staff_scope(request), run)
