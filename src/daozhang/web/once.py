"""Exactly-once form posts: a page form carries a one-time token (a hidden field made
when the form is shown); posting it twice — a double click, a browser retry, the back
button — changes nothing the second time and shows the first result. The token is
recorded in the change's own transaction (`core.once`, shared with the API's
Idempotency-Key).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from daozhang.core.errors import DomainError
from daozhang.core.once import once


def new_token() -> str:
    return uuid.uuid4().hex


def run_once(request: HttpRequest, run: Callable[[], dict[str, Any]],
             redact: tuple[str, ...] = ()) -> tuple[dict[str, Any], bool]:
    """Run `run` once per form token; returns (result, replayed). Fields in `redact`
    (a secret shown once) are not kept for the replay."""
    token = str(request.POST.get("form_token", ""))
    if len(token) != 32 or not token.isalnum():
        raise DomainError("required", "form_token")
    _, body, replayed = once(f"page-user:{request.user.pk}", token, hashlib.sha256(request.path.encode()).hexdigest(),
                             lambda: (200, run()), field="form_token", with_change=True, redact=redact)
    return body, replayed
