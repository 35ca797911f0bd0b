"""Exactly-once state changes, for the API's Idempotency-Key and the pages' form tokens.

A request carries a key the client chose (a header, or a hidden field made when the form
was shown). The first request under a key runs and its answer is stored under that key
(`IdempotencyRecord`); a repeat — a retry after a timeout, a double click, the back
button — gets the stored answer and changes nothing. A different request under a key
that succeeded is refused. An error is not stored: nothing changed, so the client may try
again with the same key. Fields in `redact` (a secret shown once) are stored as null, so
a replay never reveals them.

Where the record is written depends on the change:
- `with_change=True` (the pages): in the change's own transaction, so a crash cannot leave
  one without the other;
- `with_change=False` (the API): just after, because some changes must not run inside a
  transaction of ours (the online sale is one statement that is its own transaction).
  Every such service has its own business key (the sale's idempotency key, the batch's
  unique date, …), so a crash between the change and the record replays as a no-op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from daozhang.access.models import IdempotencyRecord
from daozhang.core.errors import DomainError


def once(scope: str, key: str, fingerprint: str, run: Callable[[], tuple[int, Any]], *, field: str,
         with_change: bool, redact: tuple[str, ...] = ()) -> tuple[int, Any, bool]:
    """Run `run` (returning a status and a body) once per (scope, key); returns the status,
    the body and whether it was a replay. `fingerprint` identifies the request: the same
    key with another fingerprint is refused (`idempotency_key_reused`, naming `field`)."""

    def stored() -> tuple[int, Any, bool] | None:
        rec = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if rec is None:
            return None
        if rec.request_hash != fingerprint:
            raise DomainError("idempotency_key_reused", field, status=422)
        return rec.status_code, rec.body, True

    def record(status: int, body: Any) -> None:
        IdempotencyRecord.objects.create(scope=scope, key=key, request_hash=fingerprint, status_code=status,
                                         body={**body, **dict.fromkeys(redact)} if redact else body)

    first = stored()
    if first is not None:
        return first
    try:
        if with_change:
            with transaction.atomic():
                status, body = run()
                record(status, body)
        else:
            status, body = run()
            with transaction.atomic():
                record(status, body)
    except IntegrityError:
        # The same key won by a concurrent request (or, with the change, a conflict of its own).
        again = stored()
        if again is None:
            raise
        return again
    return status, body, False
