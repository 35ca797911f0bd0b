"""Where-is-my-money endpoints (merchant API key): traces and missing-money enquiries.

A merchant's settlement batches and statements, published under the same tag, are
daozhang.api.settlement's."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpResponse
from ninja import Router, Schema, Status

from daozhang.access.api_auth import MerchantRequest
from daozhang.core.errors import DomainError
from daozhang.core.http import ERRORS, idempotent, lang
from daozhang.core.inputs import AmountFen, BusinessDate, Rrn, StanRef, TerminalRef
from daozhang.merchants.models import Merchant
from daozhang.payments import selectors
from daozhang.tracing.enquiry import enquire
from daozhang.tracing.trace import trace_batch, trace_day, trace_payment

router = Router(tags=["where is my money 资金追踪"])


def _m(request: MerchantRequest) -> Merchant:
    return request.merchant


@router.get("/trace/payments/{payment_id}", response={200: dict, **ERRORS}, summary="Trace a payment 追踪交易资金")
def trace_one_payment(request: MerchantRequest, payment_id: uuid.UUID) -> Status[dict[str, Any]]:
    return Status(200, trace_payment(_m(request), payment_id).render(lang(request)))


@router.get("/trace/lookup", response={200: dict, **ERRORS}, summary="Trace by RRN or terminal + STAN")
def trace_lookup(request: MerchantRequest, rrn: Rrn | None = None,
                 terminal_id: TerminalRef | None = None, stan: StanRef | None = None,
                 business_date: BusinessDate | None = None) -> Status[dict[str, Any]]:
    found = selectors.lookup(_m(request), rrn=rrn, terminal_id=terminal_id, stan=stan, business_date=business_date)
    if not found:
        raise DomainError("not_found", "rrn" if rrn else "stan", status=404)
    return Status(200, trace_payment(_m(request), found[0].id).render(lang(request)))


@router.get("/trace/batches/{batch_id}", response={200: dict, **ERRORS}, summary="Trace a settlement batch")
def trace_one_batch(request: MerchantRequest, batch_id: uuid.UUID) -> Status[dict[str, Any]]:
    return Status(200, trace_batch(_m(request), batch_id).render(lang(request)))


@router.get("/trace/days/{day}", response={200: dict, **ERRORS}, summary="Trace a settlement date 按日期追踪")
def trace_one_day(request: MerchantRequest, day: BusinessDate) -> Status[dict[str, Any]]:
    return Status(200, trace_day(_m(request), day).render(lang(request)))


class EnquiryIn(Schema):
    expected_amount: AmountFen
    expected_date: BusinessDate


@router.post("/enquiries", response={200: dict, **ERRORS},
             summary="Missing money: I expected X on date D 资金未到账查询")
def missing_money(request: MerchantRequest, body: EnquiryIn) -> HttpResponse:
    def run() -> tuple[int, object]:
        ans = enquire(merchant=_m(request), expected_amount=body.expected_amount, expected_date=body.expected_date,
                      actor=f"api-key:{request.api_key.prefix}")
        lg = lang(request)
        return 200, {"matched": ans.matched, "explanation": ans.explanation[1 if lg.startswith("zh") else 0],
                     "case_no": ans.case.case_no if ans.case else None,
                     "traces": [t.render(lg) for t in ans.traces]}

    return idempotent(request, f"merchant:{_m(request).id}", run)
