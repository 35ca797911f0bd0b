"""Settlement batches: what was (or will be) paid for each day, its payouts, its trace
and the statement files."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from daozhang.core.errors import DomainError
from daozhang.settlement import statements
from daozhang.settlement.models import SettlementBatch
from daozhang.settlement.payouts import batch_payouts
from daozhang.tracing.trace import trace_batch
from daozhang.web.access import merchant_of, merchant_required
from daozhang.web.parse import optional_date, page_language

PAGE_SIZE = 31


def _own_batch(request: HttpRequest, batch_id: uuid.UUID) -> SettlementBatch:
    batch = SettlementBatch.objects.select_related("merchant").filter(
        merchant=merchant_of(request), id=batch_id).first()
    if batch is None:
        raise Http404
    return batch


@merchant_required
def batch_list(request: HttpRequest) -> HttpResponse:
    qs = SettlementBatch.objects.filter(merchant=merchant_of(request)).order_by("-settlement_date")
    try:
        before = optional_date(request.GET.get("before"), "before")
    except DomainError:
        before, qs = None, qs.none()
    if before:
        qs = qs.filter(settlement_date__lt=before)
    rows = list(qs[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render(request, "portal/settlements.html", {
        "rows": rows, "next_before": rows[-1].settlement_date.isoformat() if more and rows else None,
        "paged": bool(before), "section": "settlements",
    })


@merchant_required
def batch_detail(request: HttpRequest, batch_id: uuid.UUID) -> HttpResponse:
    batch = _own_batch(request, batch_id)
    trace = trace_batch(batch.merchant, batch.id).render(page_language(request))
    payouts = batch_payouts(batch)
    return render(request, "portal/settlement_detail.html", {
        "b": batch, "trace": trace, "payouts": payouts, "section": "settlements",
    })


@merchant_required
def statement(request: HttpRequest, batch_id: uuid.UUID, fmt: str) -> HttpResponse:
    if fmt not in ("csv", "pdf"):
        raise Http404
    return statements.download(_own_batch(request, batch_id), fmt)
