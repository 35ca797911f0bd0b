"""Settlement endpoints: merchants change their bank account; staff freeze, adjust, hold, re-pay."""

from __future__ import annotations

import uuid
from typing import Annotated

from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Schema

from daozhang.access.api_auth import StaffPermission, require_perm
from daozhang.api.merchants import BankAccountIn
from daozhang.core.http import STAFF_ERRORS as ERRORS
from daozhang.core.http import idempotent
from daozhang.core.inputs import AmountFen, SignedAmountFen, Text
from daozhang.merchants import services as merchants
from daozhang.risk.services import hold_funds, release_hold
from daozhang.settlement.adjustments import adjust
from daozhang.settlement.payouts import hold_batch, repay_batch

router = Router(tags=["settlement 结算"])
staff_router = Router(tags=["staff: settlement and risk 运营：结算与风控"])


class AccountChangeIn(BankAccountIn):
    pass


class AccountChangeOut(Schema):
    id: uuid.UUID
    account: str
    holder_name: str
    status: str
    reason: str


@router.post("/settlement-account/changes", response={201: AccountChangeOut, **ERRORS},
             summary="Change the settlement bank account (verified by the bank before use) 变更结算账户")
def change_account(request: HttpRequest, body: AccountChangeIn):  # type: ignore[no-untyped-def]
    m = request.merchant  # type: ignore[attr-defined]

    def run() -> tuple[int, object]:
        acct = merchants.request_account_change(
            merchant_id=m.id, data=merchants.BankAccountInput(**body.model_dump()),
            actor=f"api-key:{request.api_key.prefix}")  # type: ignore[attr-defined]
        from daozhang.settlement.tasks import verify_pending_accounts

        transaction.on_commit(verify_pending_accounts.enqueue)
        return 201, {"id": str(acct.id), "account": acct.masked_number, "holder_name": acct.holder_name,
                     "status": "pending_verification", "reason": ""}

    return idempotent(request, f"merchant:{m.id}", run)


class HoldIn(Schema):
    case_ref: Annotated[str, Text(40)]
    reason: Annotated[str, Text(300)]
    amount: AmountFen | None = None
    payment_id: uuid.UUID | None = None


class NoteIn(Schema):
    note: Annotated[str, Text(300, required=False)] = ""


class AdjustIn(Schema):
    amount: SignedAmountFen
    reason: Annotated[str, Text(300)]


class ReasonIn(Schema):
    reason: Annotated[str, Text(300)]


def _staff_scope(request: HttpRequest) -> str:
    return f"staff:{request.staff_user.id}"  # type: ignore[attr-defined]


@staff_router.post("/merchants/{merchant_id}/holds", auth=StaffPermission("risk.add_riskhold"),
                   response={201: dict, **ERRORS},
                   summary="Freeze funds (risk/compliance) 冻结资金")
def freeze(request: HttpRequest, merchant_id: uuid.UUID, body: HoldIn):  # type: ignore[no-untyped-def]
    actor = require_perm(request, "risk.add_riskhold")

    def run() -> tuple[int, object]:
        h = hold_funds(merchant_id=merchant_id, amount=body.amount, case_ref=body.case_ref, reason=body.reason,
                       actor=actor, payment_id=body.payment_id)
        return 201, {"id": str(h.id), "amount": h.amount, "case_ref": h.case_ref,
                     "settlement_date": h.settlement_date.isoformat()}

    return idempotent(request, _staff_scope(request), run)


@staff_router.post("/holds/{hold_id}/release", auth=StaffPermission("risk.change_riskhold"),
                   response={200: dict, **ERRORS}, summary="Release frozen funds 解冻")
def release(request: HttpRequest, hold_id: uuid.UUID, body: NoteIn):  # type: ignore[no-untyped-def]
    actor = require_perm(request, "risk.change_riskhold")

    def run() -> tuple[int, object]:
        h = release_hold(hold_id=hold_id, note=body.note, actor=actor)
        return 200, {"id": str(h.id), "released_at": h.released_at.isoformat() if h.released_at else None,
                     "release_settlement_date": str(h.release_settlement_date)}

    return idempotent(request, _staff_scope(request), run)


@staff_router.post("/merchants/{merchant_id}/adjustments", auth=StaffPermission("settlement.add_adjustment"),
                   response={201: dict, **ERRORS},
                   summary="Manual adjustment 人工调账")
def manual_adjustment(request: HttpRequest, merchant_id: uuid.UUID, body: AdjustIn):  # type: ignore[no-untyped-def]
    actor = require_perm(request, "settlement.add_adjustment")

    def run() -> tuple[int, object]:
        a = adjust(merchant_id=merchant_id, amount=body.amount, reason=body.reason, actor=actor)
        return 201, {"id": str(a.id), "amount": a.amount, "settlement_date": a.settlement_date.isoformat()}

    return idempotent(request, _staff_scope(request), run)


@staff_router.post("/batches/{batch_id}/hold", auth=StaffPermission("settlement.change_settlementbatch"),
                   response={200: dict, **ERRORS}, summary="Hold a batch 暂缓出款")
def hold(request: HttpRequest, batch_id: uuid.UUID, body: ReasonIn):  # type: ignore[no-untyped-def]
    actor = require_perm(request, "settlement.change_settlementbatch")
    return idempotent(request, _staff_scope(request), lambda: (
        200, {"id": str(batch_id), "status": hold_batch(batch_id=batch_id, actor=actor, reason=body.reason).status}))


@staff_router.post("/batches/{batch_id}/repay", auth=StaffPermission("settlement.change_settlementbatch"),
                   response={200: dict, **ERRORS},
                   summary="Re-pay a returned or held batch 重新出款")
def repay(request: HttpRequest, batch_id: uuid.UUID, body: ReasonIn):  # type: ignore[no-untyped-def]
    actor = require_perm(request, "settlement.change_settlementbatch")
    return idempotent(request, _staff_scope(request), lambda: (
        200, {"id": str(batch_id), "status": repay_batch(batch_id=batch_id, actor=actor, reason=body.reason).status}))
