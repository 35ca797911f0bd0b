"""Page middleware: the page language (PageLanguageMiddleware), and no full card number in
any form field (PanFormMiddleware, below).

The page language: zh-CN unless the user chose English with the switch.

Django's LocaleMiddleware would follow the browser's Accept-Language, so a merchant on an
English-language phone would get English pages without asking; the product's pages are
Chinese by default (the API still honours Accept-Language on its own).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import add_never_cache_headers

from daozhang.core import pan


class PageLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.known = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in self.known else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class PanFormMiddleware:
    """No full card number through a page: every field of every form and query string of
    the portal, the console and the admin is scanned with core.pan's rule before the view
    runs, and a card number is refused with a 400 page naming the field, so nothing is
    written. A view declares the fields that carry a card or account number with
    `core.pan.carries_pan(...)` (the settlement account number: encrypted, shown masked);
    those alone are let through. The API has its own check (core.edge)."""

    SKIP = frozenset({"csrfmiddlewaretoken"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any,
                     view_kwargs: Any) -> HttpResponse | None:
        if request.path.startswith("/api/"):
            return None
        exempt = self.SKIP | getattr(view_func, "pan_fields", frozenset())
        field = pan.find_in_pairs(request.GET.lists(), exempt=exempt)
        if field is None and request.method == "POST":
            field = pan.find_in_pairs(request.POST.lists(), exempt=exempt)
        if field is None:
            return None
        err = pan.refused(field)
        # The page must not echo the number back (the layout links to the current URL).
        request.META["QUERY_STRING"] = ""
        request.GET = QueryDict()
        lang = "zh-hans" if str(getattr(request, "LANGUAGE_CODE", "zh-hans")).startswith("zh") else "en"
        return render(request, "web/pan_refused.html", {"field": err.field, "message": err.message(lang)},
                      status=400)


class SecurityHeadersMiddleware:
    """Content-Security-Policy and `Cache-Control: no-store` on every dynamic answer.

    Every page of the portal and the console and every API answer shows money or personal
    data, so none may be kept by a browser's or a proxy's cache (a shared computer's back
    button, a corporate proxy): `no-store`, unless a view set its own Cache-Control. Static
    files are served above this middleware (WhiteNoise) and keep their caching. The CSP is
    settings.CONTENT_SECURITY_POLICY; a view may set its own.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = str(getattr(settings, "CONTENT_SECURITY_POLICY", ""))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Content-Security-Policy", self.policy)
        if "Cache-Control" not in response.headers:
            add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private, max-age=0
        return response
