"""Who calls the API: merchant API keys and staff tokens, checked in ninja's authentication
step, which runs before the body and parameters are parsed (so a caller without the right
learns nothing about the input an endpoint takes). Once the caller is known, a query
parameter the operation does not take is refused (`core.contract`).

A `dzk_`/`dzs_` credential that is unknown, revoked or expired counts a failure against
the caller's address (access.throttle, scope `api`); past the allowance such answers say
"try again in N s" (still 401, the status every operation documents). A valid key is never held back by its
address's count: keys carry 256 random bits, so there is nothing to guess, and a shop's
working till must not stop because another till behind the same NAT sends a dead key.
The good path therefore costs no extra query; its last use is written once a minute."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.security import HttpBearer

from daozhang.access import throttle
from daozhang.access.models import ApiKey
from daozhang.access.services import merchant_for_key, staff_for_token, touch
from daozhang.core.contract import refuse_unknown_query
from daozhang.core.errors import DomainError
from daozhang.merchants.models import Merchant

T = TypeVar("T")


class MerchantRequest(HttpRequest):
    """A request `MerchantKeyAuth` let through, as an endpoint annotates it: the request is
    Django's own, these attributes are set on it here (the pattern django-stubs documents
    for attributes a middleware adds)."""

    merchant: Merchant
    api_key: ApiKey


class StaffRequest(HttpRequest):
    """A request `StaffTokenAuth` (or `StaffPermission`) let through."""

    staff_user: User


def _refused(request: HttpRequest, err: DomainError | None) -> None:
    """Count the failure for the caller's address; raise the 401 to give (None: the plain one)."""
    counter = throttle.api_counter(throttle.client_address(request))
    waiting = throttle.wait_seconds([counter])
    if not waiting:
        throttle.record_failure([counter])
        if err is not None:
            raise err
        return None
    raise DomainError("too_many_attempts", "Authorization", {"seconds": waiting}, status=401)


def _checked(request: HttpRequest, find: Callable[[str], T | None], token: str) -> T | None:
    try:
        found = find(token)
    except DomainError as err:  # revoked or expired: named, and counted
        _refused(request, err)
        raise
    if found is None:
        _refused(request, None)
    return found


class MerchantKeyAuth(HttpBearer):
    """`Authorization: Bearer dzk_…`: the call acts for exactly one merchant. Once the
    caller is known, a query parameter the operation does not take is refused."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        if not token.startswith("dzk_"):
            return None
        found = _checked(request, merchant_for_key, token)
        if found is None:
            return None
        known = cast(MerchantRequest, request)
        known.merchant, known.api_key = found
        touch(found[1], throttle.client_address(request))
        refuse_unknown_query(request)
        return found[0]


class StaffTokenAuth(HttpBearer):
    """`Authorization: Bearer dzs_…`: a staff user; permissions are checked per call."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = self.staff_user(request, token)
        if user is not None:
            refuse_unknown_query(request)
        return user

    @staticmethod
    def staff_user(request: HttpRequest, token: str) -> Any:
        if not token.startswith("dzs_"):
            return None
        found = _checked(request, staff_for_token, token)
        if found is None:
            return None
        touch(found, throttle.client_address(request))
        cast(StaffRequest, request).staff_user = found.user
        return found.user


def require_perm(request: StaffRequest, perm: str) -> str:
    """Raise 403 unless the staff user has `perm`; return the actor label for the audit log."""
    user = request.staff_user
    if not user.has_perm(perm):
        raise DomainError("forbidden", None, status=403)
    return f"staff:{user.get_username()}"


class StaffPermission(StaffTokenAuth):
    """`Bearer dzs_…` of a staff user who has `perm`: 401 without the token, 403 without
    the permission, both before the request's input is looked at."""

    def __init__(self, perm: str) -> None:
        super().__init__()
        self.perm = perm

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = self.staff_user(request, token)
        if user is None:
            return None
        if not user.has_perm(self.perm):
            raise DomainError("forbidden", None, status=403)
        refuse_unknown_query(request)
        return user
