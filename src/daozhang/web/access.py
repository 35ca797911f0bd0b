"""Who may open a page: merchant users see only their own merchant; staff need a permission,
and, where the second factor is required (access.twofactor), a session that gave it.

The merchant is taken from the logged-in user, never from the URL, so changing an id in
the address can at most ask for a record the query then does not find (404).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import reverse

from daozhang.access import twofactor
from daozhang.merchants.models import Merchant
from daozhang.merchants.selectors import merchant_user_of

View = Callable[..., HttpResponseBase]


def merchant_of(request: HttpRequest) -> Merchant:
    merchant: Merchant = request.merchant  # type: ignore[attr-defined]
    return merchant


def merchant_required(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        link = merchant_user_of(request.user.pk)  # by (merchant_id, user_id): one shard's read
        if link is None:
            raise PermissionDenied
        request.merchant = link.merchant  # type: ignore[attr-defined]
        request.merchant_user = link  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)
    return wrapped


def staff_required(*perms: str) -> Callable[[View], View]:
    """Staff only, and with every listed permission (Django groups carry the roles)."""
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not (user.is_active and user.is_staff) or not user.has_perms(perms):
                raise PermissionDenied
            if twofactor.owes_code(request):
                # Also refused here, not only by web.twofactor's middleware: a staff page
                # (re-pay, hold, adjust, cancel a payout) never acts for a session that
                # still owes its second factor, whatever the middleware list says.
                return redirect_to_login(request.get_full_path(), reverse("web:two_factor_verify"))
            return view(request, *args, **kwargs)
        return wrapped
    return decorate


def staff_actor(request: HttpRequest) -> str:
    """The audit log's name for the staff member making a change."""
    return f"staff:{request.user.get_username()}"


def merchant_actor(request: HttpRequest) -> str:
    return f"merchant-user:{request.user.get_username()}"
