"""Deny by default until the second factor is given.

django-otp's OTPMiddleware tells whether this session passed a code; this middleware
makes that count everywhere at once (portal, console, /admin/, and pages added later)
instead of trusting every view to remember a decorator: a signed-in session that owes a
code — it belongs to an enrolled user, or to staff / an owner where the policy requires
one — is sent to the code or set-up page from any page but those, sign-out, the language
switch and static files. The API is not concerned: it takes tokens, never the session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from daozhang.access import twofactor


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._open: tuple[str, ...] | None = None

    def open_paths(self) -> tuple[str, ...]:
        if self._open is None:
            self._open = (reverse("web:login"), reverse("web:logout"), reverse("web:two_factor"),
                          reverse("web:two_factor_verify"), "/i18n/", "/api/", "/healthz",
                          "/" + settings.STATIC_URL.lstrip("/"))
        return self._open

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(self.open_paths()):  # first: the API never loads a session user here
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            owes = twofactor.owes_code(request)
            if owes:
                target = reverse("web:two_factor_verify" if owes == "verify" else "web:two_factor")
                return HttpResponseRedirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


def banner(request: HttpRequest) -> dict[str, Any]:
    """Template context: `twofactor_banner` for staff and owners who have not set it up
    (only seen where it is optional: where it is required they cannot reach a page)."""
    user = getattr(request, "user", None)
    if (user is None or not user.is_authenticated or request.path.startswith("/login/")
            or twofactor.verified(request)):
        return {"twofactor_banner": False}
    return {"twofactor_banner": twofactor.should_have(user) and not twofactor.enrolled(user)}
