"""Payment endpoints for merchants and terminals (merchant API key)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.http import HttpResponse, StreamingHttpResponse
from ninja import Router, Status

from daozhang.access.api_auth import MerchantRequest
from daozhang.api.payments_schemas import (
    Channel,
    Cursor,
    Last4,
    PaymentOut,
    PaymentPage,
    PaymentStatus,
    ReversalIn,
    ReversalOut,
    SaleIn,
    VoidIn,
)
from daozhang.core.edge import checked_stream
from daozhang.core.http import ERRORS as COMMON_ERRORS
from daozhang.core.http import ErrorOut, idempotency_key, idempotent_booking
from daozhang.core.inputs import AmountFenQuery, BusinessDate, Limit, Rrn, StanRef, TerminalRef
from daozhang.core.once import Claim
from daozhang.merchants.models import Merchant
from daozhang.payments import selectors, services
from daozhang.payments.models import Payment, Reversal

router = Router(tags=["payments 交易"])
ERRORS = {**COMMON_ERRORS, 503: ErrorOut}  # a channel can be down


def _merchant(request: MerchantRequest) -> Merchant:
    return request.merchant


def _scope(request: MerchantRequest) -> str:
    return f"merchant:{_merchant(request).id}"


def _json(data: dict[str, object]) -> dict[str, object]:
    return PaymentOut.model_validate(data).model_dump(mode="json")


def _sold(p: Payment) -> tuple[int, object]:
    return 201, _json(PaymentOut.of(p))


def _payment(p: Payment) -> tuple[int, object]:
    return 200, _json(PaymentOut.of(p))


def _reversal(r: Reversal) -> tuple[int, object]:
    return 200, ReversalOut.model_validate(ReversalOut.of(r)).model_dump(mode="json")


@router.post("/payments/sale", response={201: PaymentOut, **ERRORS},
             summary="Sale 消费 (card or WeChat/Alipay QR)")
def sale(request: MerchantRequest, body: SaleIn) -> HttpResponse:
    def run(claim: Claim) -> Payment:
        return services.sale(merchant=_merchant(request), idempotency_key=idempotency_key(request),
                             req=services.SaleRequest(**body.model_dump()), claim=claim)[0]

    # The sale's own look-up reads the stored answer: one round trip less per sale.
    return idempotent_booking(request, _scope(request), run, _sold, reads_stored=True)


@router.post("/payments/{payment_id}/void", response={200: PaymentOut, **ERRORS}, summary="Void 撤销")
def void(request: MerchantRequest, payment_id: uuid.UUID, body: VoidIn) -> HttpResponse:
    def run(claim: Claim) -> Payment:
        return services.void(merchant=_merchant(request), payment_id=payment_id, terminal_id=body.terminal_id,
                             actor=f"api-key:{request.api_key.prefix}", claim=claim)

    return idempotent_booking(request, _scope(request), run, _payment)


@router.post("/payments/reversal", response={200: ReversalOut, **ERRORS}, summary="Reversal 冲正")
def reversal(request: MerchantRequest, body: ReversalIn) -> HttpResponse:
    def run(claim: Claim) -> Reversal:
        return services.reverse(merchant=_merchant(request), terminal_id=body.terminal_id,
                                original_stan=body.original_stan, idempotency_key=idempotency_key(request),
                                amount=body.amount, claim=claim)

    return idempotent_booking(request, _scope(request), run, _reversal)


def _filter(
    date_from: dt.date | None, date_to: dt.date | None, status: str | None, channel: str | None,
    amount_min: int | None, amount_max: int | None, last4: str | None, terminal_id: str | None,
) -> selectors.PaymentFilter:
    return selectors.PaymentFilter(date_from, date_to, status, channel, amount_min, amount_max, last4, terminal_id)


@router.get("/payments", response={200: PaymentPage, **ERRORS}, summary="List payments 交易查询")
def list_payments(
    request: MerchantRequest, date_from: BusinessDate | None = None, date_to: BusinessDate | None = None,
    status: PaymentStatus | None = None, channel: Channel | None = None, amount_min: AmountFenQuery | None = None,
    amount_max: AmountFenQuery | None = None, last4: Last4 | None = None, terminal_id: TerminalRef | None = None,
    cursor: Cursor | None = None, before: Cursor | None = None, limit: Limit = 50,
) -> Status[dict[str, object]]:
    f = _filter(date_from, date_to, status, channel, amount_min, amount_max, last4, terminal_id)
    got = selectors.page(selectors.payments_for(_merchant(request), f), cursor, limit, before=before)
    return Status(200, {"items": [PaymentOut.of(p) for p in got.rows], "next_cursor": got.next,
                        "prev_cursor": got.prev})


@router.get("/payments/export.csv", summary="Export payments as CSV 导出", response={200: None, **ERRORS})
def export(
    request: MerchantRequest, date_from: BusinessDate | None = None, date_to: BusinessDate | None = None,
    status: PaymentStatus | None = None, channel: Channel | None = None, amount_min: AmountFenQuery | None = None,
    amount_max: AmountFenQuery | None = None, last4: Last4 | None = None, terminal_id: TerminalRef | None = None,
) -> StreamingHttpResponse:
    f = _filter(date_from, date_to, status, channel, amount_min, amount_max, last4, terminal_id)
    qs = selectors.payments_for(_merchant(request), f)
    return checked_stream(selectors.export_csv(qs), "text/csv; charset=utf-8", "payments.csv")


@router.get("/payments/lookup", response={200: list[PaymentOut], **ERRORS},
            summary="Find by RRN, or terminal + STAN 按参考号或终端+流水号查询")
def lookup(
    request: MerchantRequest, rrn: Rrn | None = None, terminal_id: TerminalRef | None = None,
    stan: StanRef | None = None, business_date: BusinessDate | None = None,
) -> Status[list[dict[str, object]]]:
    rows = selectors.lookup(_merchant(request), rrn=rrn, terminal_id=terminal_id, stan=stan,
                            business_date=business_date)
    return Status(200, [PaymentOut.of(p) for p in rows])


@router.get("/payments/{payment_id}", response={200: PaymentOut, **ERRORS}, summary="One payment 交易详情")
def get_payment(request: MerchantRequest, payment_id: uuid.UUID) -> Status[dict[str, object]]:
    return Status(200, PaymentOut.of(services.find_payment(_merchant(request), payment_id)))
