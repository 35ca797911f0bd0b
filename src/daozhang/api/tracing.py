"""Where-is-my-money endpoints (merchant API key): traces, settlements, enquiries."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from daozhang.api.payments_schemas import Rrn, StanRef, TerminalRef
from daozhang.core.errors import DomainError
from daozhang.core.http import ERRORS, idempotent, lang
from daozhang.core.inputs import AmountFen, BusinessDate, Limit
from daozhang.payments import selectors
from daozhang.settlement import statements
from daozhang.settlement.models import SettlementBatch
from daozhang.tracing.enquiry import enquire
from daozhang.tracing.trace import trace_batch, trace_day, trace_payment

router = Router(tags=["where is my money 资金追踪"])


def _m(request: HttpRequest) -> Any:
    return request.merchant  # type: ignore[attr-defined]


@router.get("/trace/payments/{payment_id}", response={200: dict, **ERRORS}, summary="Trace a payment 追踪交易资金")
def trace_one_payment(request: HttpRequest, payment_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return Status(200, trace_payment(_m(request), payment_id).render(lang(request)))


@router.get("/trace/lookup", response={200: dict, **ERRORS}, summary="Trace by RRN or terminal + STAN")
def trace_lookup(request: HttpRequest, rrn: Rrn | None = None,  # type: ignore[no-untyped-def]
                 terminal_id: TerminalRef | None = None, stan: StanRef | None = None,
                 business_date: BusinessDate | None = None):
    found = selectors.lookup(_m(request), rrn=rrn, terminal_id=terminal_id, stan=stan, business_date=business_date)
    if not found:
        raise DomainError("not_found", "rrn" if rrn else "stan", status=404)
    return Status(200, trace_payment(_m(request), found[0].id).render(lang(request)))


@router.get("/trace/batches/{batch_id}", response={200: dict, **ERRORS}, summary="Trace a settlement batch")
def trace_one_batch(request: HttpRequest, batch_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return Status(200, trace_batch(_m(request), batch_id).render(lang(request)))


@router.get("/trace/days/{day}", response={200: dict, **ERRORS}, summary="Trace a settlement date 按日期追踪")
def trace_one_day(request: HttpRequest, day: BusinessDate):  # type: ignore[no-untyped-def]
    return Status(200, trace_day(_m(request), day).render(lang(request)))


class BatchOut(Schema):
    id: uuid.UUID
    settlement_date: dt.date
    payout_date: dt.date
    cycle: str
    status: str
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


@router.get("/settlements", response={200: list[BatchOut], **ERRORS}, summary="Settlement batches 结算批次")
def list_batches(request: HttpRequest, date_from: BusinessDate | None = None,  # type: ignore[no-untyped-def]
                 date_to: BusinessDate | None = None, limit: Limit = 100):
    qs = SettlementBatch.objects.filter(merchant=_m(request))
    if date_from:
        qs = qs.filter(settlement_date__gte=date_from)
    if date_to:
        qs = qs.filter(settlement_date__lte=date_to)
    if not 1 <= limit <= 500:
        raise DomainError("invalid", "limit")
    return Status(200, list(qs.order_by("-settlement_date")[:limit]))


def _batch(request: HttpRequest, batch_id: uuid.UUID) -> SettlementBatch:
    b = SettlementBatch.objects.select_related("merchant").filter(merchant=_m(request), id=batch_id).first()
    if b is None:
        raise DomainError("not_found", "batch_id", status=404)
    return b


@router.get("/settlements/{batch_id}/statement.csv", response={200: None, **ERRORS},
            summary="Settlement statement, CSV 结算单")
def statement_csv(request: HttpRequest, batch_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return statements.download(_batch(request, batch_id), "csv")


@router.get("/settlements/{batch_id}/statement.pdf", response={200: None, **ERRORS},
            summary="Settlement statement, PDF 结算单")
def statement_pdf(request: HttpRequest, batch_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return statements.download(_batch(request, batch_id), "pdf")


class EnquiryIn(Schema):
    expected_amount: AmountFen
    expected_date: BusinessDate


@router.post("/enquiries", response={200: dict, **ERRORS},
             summary="Missing money: I expected X on date D 资金未到账查询")
def missing_money(request: HttpRequest, body: EnquiryIn):  # type: ignore[no-untyped-def]
    def run() -> tuple[int, object]:
        ans = enquire(merchant=_m(request), expected_amount=body.expected_amount, expected_date=body.expected_date,
                      actor=f"api-key:{request.api_key.prefix}")  # type: ignore[attr-defined]
        lg = lang(request)
        return 200, {"matched": ans.matched, "explanation": ans.explanation[1 if lg.startswith("zh") else 0],
                     "case_no": ans.case.case_no if ans.case else None,
                     "traces": [t.render(lg) for t in ans.traces]}

    return idempotent(request, f"merchant:{_m(request).id}", run)
