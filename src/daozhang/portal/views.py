from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from daozhang.web.access import merchant_required


@merchant_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/dashboard.html", {})
