"""The page language: zh-CN unless the user chose English with the switch.

Django's LocaleMiddleware would follow the browser's Accept-Language, so a merchant on an
English-language phone would get English pages without asking; the product's pages are
Chinese by default (the API still honours Accept-Language on its own).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import add_never_cache_headers


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
