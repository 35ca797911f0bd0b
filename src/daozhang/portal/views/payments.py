"""Payments: the API's filters as a form, keyset pages (fast on a million rows: no
OFFSET and no total count), CSV export, and one payment with its trace."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from daozhang.core.errors import DomainError, NotFound
from daozhang.core.pages import Page
from daozhang.payments import selectors
from daozhang.payments.models import Channel, Payment, PaymentStatus
from daozhang.tracing.trace import trace_payment
from daozhang.web.access import merchant_of, merchant_required
from daozhang.web.parse import field_errors, optional_date, page_language, parse_yuan

PAGE_SIZE = 50
# The filter fields as the form labels them, so an error names what the user typed in.
FIELD_LABELS = {
    "date_from": ("开始日期", "From"), "date_to": ("结束日期", "To"), "last4": ("卡号后四位", "Card last 4 digits"),
    "status": ("状态", "Status"), "channel": ("渠道", "Channel"), "amount_min": ("最小金额", "Min amount"),
    "amount_max": ("最大金额", "Max amount"), "terminal_id": ("终端号", "Terminal ID"), "cursor": ("分页", "Page"),
}


def filter_from(q: QueryDict) -> selectors.PaymentFilter:
    """The list's query string → the same filter the API uses (amounts typed in yuan)."""
    f = selectors.PaymentFilter(
        date_from=optional_date(q.get("date_from"), "date_from"), date_to=optional_date(q.get("date_to"), "date_to"),
        status=q.get("status") or None, channel=q.get("channel") or None,
        amount_min=parse_yuan(q.get("amount_min"), "amount_min", required=False),
        amount_max=parse_yuan(q.get("amount_max"), "amount_max", required=False),
        last4=q.get("last4", "").strip() or None, terminal_id=q.get("terminal_id", "").strip() or None,
    )
    f.validate()
    return f


@merchant_required
def payment_list(request: HttpRequest) -> HttpResponse:
    merchant = merchant_of(request)
    got: Page[Payment] = Page([], None, None, True)
    errors: dict[str, str] = {}
    try:
        f = filter_from(request.GET)
        got = selectors.page(selectors.payments_for(merchant, f), request.GET.get("cursor") or None, PAGE_SIZE,
                             before=request.GET.get("before") or None)
    except DomainError as err:
        errors = labelled(request, field_errors(request, err))
    # htmx swaps only 2xx answers: for it, a page with field errors is a 200 it can show.
    from_htmx = bool(request.htmx)  # type: ignore[attr-defined]
    return render(request, "portal/payments.html", {
        "rows": got.rows, "next_cursor": got.next, "prev_cursor": got.prev, "errors": errors, "q": request.GET,
        "section": "payments", "statuses": PaymentStatus.choices, "channels": Channel.choices,
        "paged": bool(request.GET.get("cursor") or request.GET.get("before")),
    }, status=400 if errors and not from_htmx else 200)


def labelled(request: HttpRequest, errors: dict[str, str]) -> dict[str, str]:
    zh = page_language(request).startswith("zh")
    return {field: (f"{FIELD_LABELS[field][0 if zh else 1]}{'：' if zh else ': '}{msg}" if field in FIELD_LABELS
                    else msg) for field, msg in errors.items()}


@merchant_required
def payment_export(request: HttpRequest) -> HttpResponseBase:
    merchant = merchant_of(request)
    try:
        f = filter_from(request.GET)
    except DomainError as err:
        return render(request, "portal/payments.html", {
            "rows": [], "errors": labelled(request, field_errors(request, err)), "q": request.GET,
            "section": "payments", "statuses": PaymentStatus.choices, "channels": Channel.choices}, status=400)
    resp = StreamingHttpResponse(selectors.export_csv(selectors.payments_for(merchant, f)),
                                 content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="payments-{merchant.merchant_no}.csv"'
    return resp


@merchant_required
def payment_detail(request: HttpRequest, payment_id: uuid.UUID) -> HttpResponse:
    merchant = merchant_of(request)
    payment = Payment.objects.select_related("terminal").filter(merchant=merchant, id=payment_id).first()
    if payment is None:
        raise Http404
    try:
        trace = trace_payment(merchant, payment.id, payment).render(page_language(request))
    except NotFound as exc:
        raise Http404 from exc
    return render(request, "portal/payment_detail.html", {
        "p": payment, "trace": trace, "section": "payments",
    })
