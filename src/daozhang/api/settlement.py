"""Settlement endpoints: a merchant's batches and statements; staff adjust, hold and re-pay."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from django.http import HttpResponse
from ninja import Field, Router, Schema, Status

from daozhang.access.api_auth import MerchantRequest, StaffPermission, StaffRequest, require_perm
from daozhang.approvals.models import ApprovalRequest
from daozhang.core.errors import DomainError, pick_language
from daozhang.core.http import ERRORS, STAFF_ERRORS, idempotent
from daozhang.core.inputs import BusinessDate, Limit, SignedAmountFen, Text
from daozhang.merchants.models import Merchant
from daozhang.settlement import statements
from daozhang.settlement.adjustments import adjust
from daozhang.settlement.models import SettlementBatch
from daozhang.settlement.payouts import hold_batch, repay_batch

# A merchant finds its batches under "where is my money", as published; the operationIds of
# the merchant's endpoints are the ones published when they lived in tracing/api.py.
router = Router(tags=["where is my money 资金追踪"])
staff_router = Router(tags=["staff: settlement and risk 运营：结算与风控"])


def _m(request: MerchantRequest) -> Merchant:
    return request.merchant


class FigureOut(Schema):
    key: str
    sign: int = Field(description="how it counts in the net: +1, −1, or 0 for a count")
    label_en: str
    label_zh: str
    amount: int


class BatchOut(Schema):
    """A batch with every source's figures; the named ones kept for clients written before `figures`."""

    id: uuid.UUID
    settlement_date: dt.date
    payout_date: dt.date
    cycle: str
    status: str
    figures: list[FigureOut]
    sales_count: int
    sales_amount: int
    fees: int
    undone_amount: int
    held_amount: int
    released_amount: int
    adjustments: int
    carried_in: int
    d0_fee: int
    net: int

    @staticmethod
    def resolve_figures(batch: SettlementBatch) -> list[dict[str, object]]:
        return [{"key": f.key, "sign": f.sign, "label_en": f.label[0], "label_zh": f.label[1], "amount": amount}
                for f, amount in batch.parts()]

    @staticmethod
    def resolve_sales_count(batch: SettlementBatch) -> int:
        return batch.figure("sales_count")

    @staticmethod
    def resolve_sales_amount(batch: SettlementBatch) -> int:
        return batch.figure("sales_amount")

    @staticmethod
    def resolve_fees(batch: SettlementBatch) -> int:
        return batch.figure("fees")

    @staticmethod
    def resolve_undone_amount(batch: SettlementBatch) -> int:
        return batch.figure("undone_amount")

    @staticmethod
    def resolve_held_amount(batch: SettlementBatch) -> int:
        return batch.figure("held_amount")

    @staticmethod
    def resolve_released_amount(batch: SettlementBatch) -> int:
        return batch.figure("released_amount")

    @staticmethod
    def resolve_adjustments(batch: SettlementBatch) -> int:
        return batch.figure("adjustments")


@router.get("/settlements", response={200: list[BatchOut], **ERRORS}, operation_id="daozhang_tracing_api_list_batches",
            summary="Settlement batches 结算批次")
def list_batches(request: MerchantRequest, date_from: BusinessDate | None = None,
                 date_to: BusinessDate | None = None, limit: Limit = 100) -> Status[list[SettlementBatch]]:
    qs = SettlementBatch.objects.filter(merchant=_m(request))
    if date_from:
        qs = qs.filter(settlement_date__gte=date_from)
    if date_to:
        qs = qs.filter(settlement_date__lte=date_to)
    if not 1 <= limit <= 500:
        raise DomainError("invalid", "limit")
    return Status(200, list(qs.order_by("-settlement_date")[:limit]))


def _batch(request: MerchantRequest, batch_id: uuid.UUID) -> SettlementBatch:
    b = SettlementBatch.objects.select_related("merchant").filter(merchant=_m(request), id=batch_id).first()
    if b is None:
        raise DomainError("not_found", "batch_id", status=404)
    return b


@router.get("/settlements/{batch_id}/statement.csv", response={200: None, **ERRORS},
            operation_id="daozhang_tracing_api_statement_csv", summary="Settlement statement, CSV 结算单")
def statement_csv(request: MerchantRequest, batch_id: uuid.UUID) -> HttpResponse:
    return statements.download(_batch(request, batch_id), "csv")


@router.get("/settlements/{batch_id}/statement.pdf", response={200: None, **ERRORS},
            operation_id="daozhang_tracing_api_statement_pdf", summary="Settlement statement, PDF 结算单")
def statement_pdf(request: MerchantRequest, batch_id: uuid.UUID) -> HttpResponse:
    return statements.download(_batch(request, batch_id), "pdf")


class AdjustIn(Schema):
    amount: SignedAmountFen
    reason: Annotated[str, Text(300)]


class ReasonIn(Schema):
    reason: Annotated[str, Text(300)]


def _staff_scope(request: StaffRequest) -> str:
    return f"staff:{request.staff_user.id}"


PENDING_ZH = "金额超过单人调账上限，已提交另一位员工复核（运营控制台 → 待复核），批准前不入账。"
PENDING_EN = ("Above the single-approver limit: sent to a second staff member (console → Approvals); nothing is "
              "booked until it is approved.")


@staff_router.post("/merchants/{merchant_id}/adjustments", auth=StaffPermission("settlement.add_adjustment"),
                   response={201: dict, 202: dict, **STAFF_ERRORS},
                   summary="Manual adjustment 人工调账",
                   description="201 with the adjustment when it is booked. Above the approval limit "
                               "(`DAOZHANG_ADJUSTMENT_APPROVAL_FEN`, default ¥5,000) nothing is booked: 202 with "
                               "`status: pending_approval` and the approval request's id; a second staff member "
                               "with `settlement.approve_adjustment` approves it in the console (Approvals 待复核).")
def manual_adjustment(request: StaffRequest, merchant_id: uuid.UUID, body: AdjustIn) -> HttpResponse:
    actor = require_perm(request, "settlement.add_adjustment")
    zh = pick_language(request.headers.get("Accept-Language")).startswith("zh")

    def run() -> tuple[int, object]:
        a = adjust(merchant_id=merchant_id, amount=body.amount, reason=body.reason, actor=actor,
                   actor_user_id=request.staff_user.pk)
        if isinstance(a, ApprovalRequest):
            return 202, {"status": "pending_approval", "approval_id": str(a.id), "amount": body.amount,
                         "expires_at": a.expires_at.isoformat(),
                         "message": PENDING_ZH if zh else PENDING_EN}
        return 201, {"id": str(a.id), "amount": a.amount, "settlement_date": a.settlement_date.isoformat(),
                     "status": "booked"}

    return idempotent(request, _staff_scope(request), run)


@staff_router.post("/batches/{batch_id}/hold", auth=StaffPermission("settlement.change_settlementbatch"),
                   response={200: dict, **STAFF_ERRORS}, summary="Hold a batch 暂缓出款")
def hold(request: StaffRequest, batch_id: uuid.UUID, body: ReasonIn) -> HttpResponse:
    actor = require_perm(request, "settlement.change_settlementbatch")
    return idempotent(request, _staff_scope(request), lambda: (
        200, {"id": str(batch_id), "status": hold_batch(batch_id=batch_id, actor=actor, reason=body.reason).status}))


@staff_router.post("/batches/{batch_id}/repay", auth=StaffPermission("settlement.change_settlementbatch"),
                   response={200: dict, **STAFF_ERRORS},
                   summary="Re-pay a returned or held batch 重新出款")
def repay(request: StaffRequest, batch_id: uuid.UUID, body: ReasonIn) -> HttpResponse:
    actor = require_perm(request, "settlement.change_settlementbatch")
    return idempotent(request, _staff_scope(request), lambda: (
        200, {"id": str(batch_id), "status": repay_batch(batch_id=batch_id, actor=actor, reason=body.reason).status}))
