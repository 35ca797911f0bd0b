"""The console's front page: how long each queue this person may work on is."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from daozhang.console.selectors import queue_counts
from daozhang.web.access import staff_required


@staff_required()
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "console/home.html", {"section": "home", "queues": queue_counts(request.user)})
