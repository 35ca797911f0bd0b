"""Exactly-once state changes: the API's Idempotency-Key, the pages' form tokens.

A request carries a key its client chose (a header, or a hidden field made when the form
was shown). Under a key:

1. the key is **claimed** before anything else (`core.keylock`: a lock the database
   server or the kernel holds for us, so it costs no commit and a crash leaves nothing
   behind). A second request under a key still in progress waits a moment for the first,
   then gets its answer, or `409 request_in_progress` if it is still running;
2. a stored answer under the key is **replayed** (the same status and body; a different
   request under the key is refused with `422 idempotency_key_reused`);
3. otherwise the change runs, and its answer is **recorded in the change's own
   transaction**: the change and the record commit together, or neither does. An error
   is not recorded: nothing changed, so the client may try again with the same key.

The change runs in one of two ways (decision 0011):
- inside a transaction opened here (`books_outside_transaction=False`, most changes);
- or outside any transaction of ours (`True`), for a change that calls a channel: the
  service books in its own transaction after the call and records the answer there
  through the `Claim` it is given, which knows how the face answers a result
  (`Claim.record_of`, or `Claim.insert_sql_of` for a booking that is one SQL statement,
  the online sale). A change that ended without booking
  anything (an already-voided payment voided again) is recorded afterwards.

Fields in `redact` (a secret shown once) are stored as null: a replay never reveals them.
Records are kept `IDEMPOTENCY_TTL_HOURS` and then purged (`purge_expired`).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction

from daozhang.core import clock, keylock
from daozhang.core.db import execute_server_bound
from daozhang.core.errors import DomainError
from daozhang.core.ids import new_id
from daozhang.core.models import IdempotencyRecord

T = TypeVar("T")


@dataclass(frozen=True)
class Request:
    """What identifies one request under a key."""

    merchant_id: uuid.UUID  # the merchant's, or core.ids.PLATFORM_ID
    scope: str  # who: "merchant:<id>", "staff:<user id>", "page-user:<id>"
    key: str
    fingerprint: str  # the same key with another fingerprint is another request
    field: str  # where the key came from, named in errors ("Idempotency-Key", "form_token")
    redact: tuple[str, ...] = ()


@dataclass
class Claim:
    """A claimed key, handed to the change so it can record its answer where it books."""

    request: Request
    # How the change's result (a payment, a reversal…) is answered: set by the face that
    # asked, so a service records its answer without knowing the API's schemas.
    render: Callable[[Any], tuple[int, Any]] | None = None
    hold: keylock.Hold | None = None
    answer: tuple[int, Any] | None = field(default=None, init=False)
    _pending: tuple[int, Any] | None = field(default=None, init=False)
    _handed_over: bool = field(default=False, init=False)

    @property
    def lock_name(self) -> str:
        r = self.request
        return f"once:{r.merchant_id}:{r.scope}:{r.key}"

    @property
    def taken(self) -> bool:
        """Whether the key is claimed already; if not, the change claims it (`take_with`)."""
        return self.hold is not None

    def take_with(self, attempt: Callable[[int], tuple[bool, T]]) -> T:
        """Claim the key in a query of the change's own: `attempt(k)` runs it, with the lock
        tried inside (PostgreSQL's `daozhang_claim(k, merchant_id, scope, key)`), and returns
        (taken, its row); tried again while another request holds the key."""
        self.hold, row = keylock.acquire(self.lock_name, attempt)
        return row

    def _check_taken(self) -> None:
        if not self.taken:
            raise RuntimeError("a change records its answer only under a claimed key (Claim.take_with)")

    def _stored_body(self, body: Any) -> Any:
        return {**body, **dict.fromkeys(self.request.redact)} if self.request.redact else body

    def record(self, status: int, body: Any) -> None:
        """Store the answer; call it inside the transaction that books the change."""
        self._check_taken()
        r = self.request
        now = clock.now()
        IdempotencyRecord.objects.create(
            merchant_id=r.merchant_id, scope=r.scope, key=r.key, request_hash=r.fingerprint, status_code=status,
            body=self._stored_body(body), created_at=now, expires_at=now + _ttl())
        self.answer = (status, body)

    def record_of(self, result: Any) -> None:
        """`record` the answer `render` gives for the change's result."""
        self.record(*self._rendered(result))

    def insert_sql_of(self, result: Any) -> tuple[str, list[Any]]:
        """`insert_sql` of the answer `render` gives for the change's result."""
        return self.insert_sql(*self._rendered(result))

    def _rendered(self, result: Any) -> tuple[int, Any]:
        if self.render is None:
            raise RuntimeError("a claim records a result only with a render (once(..., render=…))")
        return self.render(result)

    def insert_sql(self, status: int, body: Any) -> tuple[str, list[Any]]:
        """The record as an INSERT for a booking written as one statement; the caller runs
        it in the statement that books the change, then calls `inserted()`. On PostgreSQL
        the statement also takes over the claim and ends it at its commit
        (`keylock.Hold.release_at_commit`): no round trip to let it go."""
        self._check_taken()
        r = self.request
        ops = connection.ops
        now = clock.now()
        sqlite = connection.vendor == "sqlite"
        rid, mid = new_id(), r.merchant_id
        params: list[Any] = [
            rid.hex if sqlite else rid, mid.hex if sqlite else mid, r.scope, r.key, r.fingerprint, status,
            json.dumps(self._stored_body(body), cls=DjangoJSONEncoder, separators=(",", ":")),
            ops.adapt_datetimefield_value(now), ops.adapt_datetimefield_value(now + _ttl()),
        ]
        self._pending = (status, body)
        handover = self.hold.release_at_commit() if self.hold is not None else None
        if handover is None:
            return f"{_INSERT} VALUES ({', '.join(['%s'] * len(params))})", params
        source, source_params = handover
        self._handed_over = True
        return f"{_INSERT} SELECT {_PG_TYPED} FROM {source}", [*params, *source_params]  # noqa: S608 - constants

    def inserted(self) -> None:
        """The statement carrying `insert_sql` has run: its answer is the recorded one."""
        self.answer = self._pending
        if self._handed_over and self.hold is not None:
            self.hold.released_by_statement()

    def replay_if_stored(self, request_hash: str | None, status: int | None, body: Any) -> None:
        """For a change that reads the stored answer itself, in a query it makes anyway
        (`once(..., change_reads_stored=True)`; the online sale saves a round trip): the
        columns `STORED_COLUMNS` of its key's record, all None if there is none."""
        if request_hash is not None:
            raise _Replay(_answer_of(self.request, request_hash, status, body))


class _Replay(Exception):
    """Not an error: the stored answer, found by the change itself."""

    def __init__(self, answer: tuple[int, Any]) -> None:
        super().__init__()
        self.answer = answer


STORED_COLUMNS = "request_hash, status_code, body"


_INSERT = ("INSERT INTO core_idempotencyrecord (id, merchant_id, scope, key, request_hash, status_code, body,"
           " created_at, expires_at)")
# A SELECT's parameters are typed by nothing around them: say what each column takes.
_PG_TYPED = ("%s::uuid, %s::uuid, %s::text, %s::text, %s::text, %s::smallint, %s::jsonb, %s::timestamptz,"
             " %s::timestamptz")


def _ttl() -> dt.timedelta:
    return dt.timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)


def stored(request: Request) -> tuple[int, Any] | None:
    """The answer stored under the request's key, or None; another request under it is refused.

    Raw SQL, prepared on PostgreSQL: every state-changing request asks this once, and the
    ORM's query building cost more client CPU than the database spends on it.
    """
    r = request
    if connection.vendor == "postgresql":
        rows = execute_server_bound(_STORED, [r.merchant_id, r.scope, r.key], prepare=True)
    else:
        with connection.cursor() as cur:
            cur.execute(_STORED, [r.merchant_id.hex, r.scope, r.key])
            rows = cur.fetchall()
    return _answer_of(r, *rows[0]) if rows else None


def _answer_of(request: Request, request_hash: str, status: Any, body: Any) -> tuple[int, Any]:
    if request_hash != request.fingerprint:
        raise DomainError("idempotency_key_reused", request.field, status=422)
    return int(status), json.loads(body) if isinstance(body, str | bytes) else body


_STORED = (f"SELECT {STORED_COLUMNS} FROM core_idempotencyrecord"  # noqa: S608 - constants
           " WHERE merchant_id = %s AND scope = %s AND key = %s")


def once(request: Request, run: Callable[[Claim], tuple[int, Any]], *,
         books_outside_transaction: bool = False, change_reads_stored: bool = False,
         render: Callable[[Any], tuple[int, Any]] | None = None) -> tuple[int, Any, bool]:
    """Run `run` once per key; returns (status, body, replayed). See the module docstring.
    `render` answers a result the change records itself (`Claim.record_of`).

    With `change_reads_stored`, `run` looks up the stored answer itself before it changes
    anything (`Claim.replay_if_stored`), in a query it makes anyway; on PostgreSQL that
    query also takes the claim (`Claim.take_with`), so claiming costs no round trip.
    """
    claim = Claim(request, render)
    try:
        if change_reads_stored and connection.vendor == "postgresql":
            return _claimed(claim, run, books_outside_transaction, change_reads_stored)
        with keylock.held(claim.lock_name) as claim.hold:
            return _claimed(claim, run, books_outside_transaction, change_reads_stored)
    except keylock.Busy:
        raise DomainError("request_in_progress", request.field, status=409) from None
    except _Replay as replay:
        return (*replay.answer, True)
    finally:
        if claim.hold is not None:
            claim.hold.release()  # a no-op if the booking statement ended it, or `held` did


def _claimed(claim: Claim, run: Callable[[Claim], tuple[int, Any]],
             outside: bool, change_reads_stored: bool) -> tuple[int, Any, bool]:
    request = claim.request
    first = None if change_reads_stored else stored(request)
    if first is not None:
        return (*first, True)
    try:
        if outside:
            status, body = run(claim)
            if claim.answer is None:
                with transaction.atomic():
                    claim.record(status, body)
        else:
            with transaction.atomic():
                status, body = run(claim)
                if claim.answer is None:
                    claim.record(status, body)
    except IntegrityError:
        # Only if the claim was bypassed (a record written by another path under the key):
        # the change rolled back with the failed record, so answer as the record says.
        again = stored(request)
        if again is None:
            raise
        return (*again, True)
    assert claim.answer is not None
    return (*claim.answer, False)


def purge_expired(now: dt.datetime | None = None, batch: int = 5000) -> int:
    """Delete records past their expiry, in batches; returns how many."""
    cutoff = now or clock.now()
    total = 0
    while True:
        rows = list(IdempotencyRecord.objects.filter(expires_at__lt=cutoff).values_list("merchant_id", "id")[:batch])
        if not rows:
            return total
        # Naming the merchants: a DELETE by id alone goes to every shard of a distributed database.
        total += IdempotencyRecord.objects.filter(merchant_id__in={m for m, _ in rows},
                                                  id__in=[i for _, i in rows]).delete()[0]
