"""Who calls the API: merchant API keys and staff tokens, checked in ninja's authentication
step, which runs before the body and parameters are parsed (so a caller without the right
learns nothing about the input an endpoint takes). Once the caller is known, a query
parameter the operation does not take is refused (`core.contract`)."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.security import HttpBearer

from daozhang.access.models import ApiKey
from daozhang.access.services import merchant_for_key, staff_for_token
from daozhang.core.contract import refuse_unknown_query
from daozhang.core.errors import DomainError
from daozhang.merchants.models import Merchant


class MerchantRequest(HttpRequest):
    """A request `MerchantKeyAuth` let through, as an endpoint annotates it: the request is
    Django's own, these attributes are set on it here (the pattern django-stubs documents
    for attributes a middleware adds)."""

    merchant: Merchant
    api_key: ApiKey


class StaffRequest(HttpRequest):
    """A request `StaffTokenAuth` (or `StaffPermission`) let through."""

    staff_user: User


class MerchantKeyAuth(HttpBearer):
    """`Authorization: Bearer dzk_…`: the call acts for exactly one merchant. Once the
    caller is known, a query parameter the operation does not take is refused."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        if not token.startswith("dzk_"):
            return None
        found = merchant_for_key(token)
        if found is None:
            return None
        known = cast(MerchantRequest, request)
        known.merchant, known.api_key = found
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
        found = staff_for_token(token)
        if found is None:
            return None
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
