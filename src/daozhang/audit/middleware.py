"""Who is making a request, for the audit records signals write (audit.staff)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from daozhang.audit.staff import request_context


class AuditActorMiddleware:
    """Keeps the request in reach of audit receivers; the user is looked up only if one
    records something, so requests that change no user cost nothing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_context(request):
            return self.get_response(request)
