"""Exactly-once form posts: a page form carries a one-time token (a hidden field made
when the form is shown); posting it twice — a double click, a browser retry, the back
button, two tabs — changes nothing the second time and shows the first result. The same
mechanism as the API's Idempotency-Key (`core.once`): claimed first, recorded in the
change's own transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from daozhang.core.errors import DomainError
from daozhang.core.ids import PLATFORM_ID
from daozhang.core.once import Request, once, stored


def new_token() -> str:
    return uuid.uuid4().hex


def _request(request: HttpRequest, token: str, path: str, redact: tuple[str, ...] = ()) -> Request:
    """The form post under `token` to `path` by this user (a token is one form's: the path
    it was posted to tells another form's post under it apart)."""
    merchant = getattr(request, "merchant", None)
    return Request(merchant_id=merchant.id if merchant is not None else PLATFORM_ID,
                   scope=f"page-user:{request.user.pk}", key=token,
                   fingerprint=hashlib.sha256(path.encode()).hexdigest(), field="form_token", redact=redact)


def run_once(request: HttpRequest, run: Callable[[], dict[str, Any]],
             redact: tuple[str, ...] = ()) -> tuple[dict[str, Any], bool]:
    """Run `run` once per form token; returns (result, replayed). Fields in `redact`
    (a secret shown once) are not kept for the replay."""
    token = str(request.POST.get("form_token", ""))
    if len(token) != 32 or not token.isalnum():
        raise DomainError("required", "form_token")
    _, body, replayed = once(_request(request, token, request.path, redact), lambda claim: (200, run()))
    return body, replayed


def answer_of(request: HttpRequest, token: str, path: str) -> dict[str, Any] | None:
    """The result a form posted to `path` with `token` gave this user, if kept."""
    try:
        got = stored(_request(request, token, path))
    except DomainError:
        return None
    return got[1] if got else None
