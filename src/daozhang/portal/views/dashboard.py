from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from daozhang.portal import dashboard as figures
from daozhang.web.access import merchant_of, merchant_required
from daozhang.web.parse import page_language


@merchant_required
def dashboard(request: HttpRequest) -> HttpResponse:
    merchant = merchant_of(request)
    board = figures.build(merchant)
    chart = figures.chart_svg(board.bars, page_language(request).startswith("zh"))
    return render(request, "portal/dashboard.html", {
        "merchant": merchant, "board": board,
        "chart": mark_safe(chart),  # noqa: S308 -- built from numbers and dates only
        "section": "home",
    })
