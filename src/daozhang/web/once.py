"""Exactly-once form posts: a page form carries a one-time token (a hidden field made
when the form is shown); posting it twice — a double click, a browser retry, the back
button — changes nothing the second time and shows the first result.

The token is recorded in the same table and the same transaction as the change, like the
API's Idempotency-Key, so a crash between the two cannot leave one without the other.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from daozhang.access.models import IdempotencyRecord
from daozhang.core.errors import DomainError


def new_token() -> str:
    return uuid.uuid4().hex


def run_once(request: HttpRequest, run: Callable[[], dict[str, Any]],
             redact: tuple[str, ...] = ()) -> tuple[dict[str, Any], bool]:
    """Run `run` once per form token; returns (result, replayed). Fields in `redact`
    (a secret shown once) are not kept for the replay."""
    token = str(request.POST.get("form_token", ""))
    if len(token) != 32 or not token.isalnum():
        raise DomainError("required", "form_token")
    scope = f"page-user:{request.user.pk}"
    found = IdempotencyRecord.objects.filter(scope=scope, key=token).first()
    if found is not None:
        return found.body, True
    try:
        with transaction.atomic():
            body = run()
            IdempotencyRecord.objects.create(
                scope=scope, key=token, request_hash=hashlib.sha256(request.path.encode()).hexdigest(),
                status_code=200, body={**body, **dict.fromkeys(redact)})
    except IntegrityError:
        again = IdempotencyRecord.objects.filter(scope=scope, key=token).first()
        if again is None:
            raise
        return again.body, True
    return body, False
