"""Domain events through a transactional outbox, delivered to subscribers by the worker.

Why: a domain service must not call notifications (or webhooks, or risk rules) itself. It
would make the lower layer import the upper one, and a message sent from inside a
transaction that later rolls back tells the merchant of something that never happened.
So a service **records** what happened (`emit`) in its own transaction, and the worker
**delivers** it afterwards to whoever subscribed (`subscribe`, from an AppConfig.ready()).

Writing: `emit` inserts an `OutboxEvent` and one `OutboxDelivery` per subscriber whose
pattern matches the kind, in the caller's transaction: an event exists if and only if the
business change committed. `emit_many` does the same for a batch job in two statements
(the events, then their deliveries). Event data are JSON values; money is int fen (a
float is refused, like everywhere else).

Delivering (`deliver_due`, the `core.deliver_outbox` task, run by `daozhang worker`):

1. **claim**: due rows (pending, or failed and past their back-off) whose lease is free are
   read (a plain read, across merchants), then given a lease (`locked_until`, a token in
   `lease`) by one conditional UPDATE that names their merchants and ids and repeats the
   "lease free" condition: of two workers that read the same rows, the second's UPDATE
   waits for the first's commit and then finds the lease taken, so each row goes to one
   worker. (Not `SELECT … FOR UPDATE SKIP LOCKED`: a row lock over many merchants is not
   one shard's on a database distributed by merchant, docs/operations.md "Scaling out".)
2. **run** the subscriber. A plain subscriber runs *inside* the transaction that marks its
   row done (`Delivery.commit`): its database writes and the done mark commit together or
   not at all, so a worker SIGKILLed at any point leaves the row open and its writes
   undone, and the next claim (after the lease ends) delivers it once. The done mark is an
   UPDATE conditioned on the lease token and the open status, taken *before* the
   subscriber runs: a worker whose lease was taken over writes nothing.
3. A **two-phase** subscriber (`two_phase=True`: one that talks to something outside the
   database, an SMTP server) does its outside call first, outside any transaction (a
   network call must not hold the database's locks), with `Delivery.idempotency_key`,
   which is the same on every attempt, then records what came back with
   `Delivery.commit(...)`. Honest edge: if the worker dies after the outside party accepted
   but before that commit, the next attempt sends again. The outside party sees the same
   idempotency key (for e-mail, the Message-ID), so a provider that de-duplicates by key
   makes this exactly once; one that does not sees it at least once. Nothing that was
   confirmed (committed) is ever sent again.
4. **failure**: the error is recorded on the row (`attempts`, `last_error`), the next try is
   put off by an exponential back-off (`OUTBOX_RETRY_BASE_SECONDS` × 2^(attempt-1), at most
   `OUTBOX_RETRY_MAX_SECONDS`), and after `OUTBOX_MAX_ATTEMPTS` the row is `dead`: shown in
   the console's delivery log, with an alert, and retried only when staff ask
   (`retry_now`). Attempts are counted at the claim, so an event whose delivery kills the
   worker itself also ends dead instead of looping for ever.

Why not `core.once`: its records answer a client's request under the client's key and
expire after `IDEMPOTENCY_TTL_HOURS`; a delivery row is keyed by (event, subscriber) with
a unique constraint and is never purged while open, and it needs state `once` has no room
for (attempts, back-off, dead). The principle is the same: the record that says "done"
commits with the change it records.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django_tasks import task

from daozhang.core import clock
from daozhang.core.alerts import raise_alert
from daozhang.core.ids import PLATFORM_ID, new_id
from daozhang.core.keyed import attach
from daozhang.core.models import DeliveryStatus, OutboxDelivery, OutboxEvent

log = logging.getLogger(__name__)

T = TypeVar("T")
OPEN = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


@dataclass(frozen=True)
class Event:
    """An event as a subscriber gets it."""

    id: uuid.UUID
    kind: str
    merchant_id: uuid.UUID | None
    data: dict[str, Any]
    created_at: dt.datetime


@dataclass(frozen=True)
class NewEvent:
    """One event of an `emit_many` batch."""

    kind: str
    merchant_id: uuid.UUID | None
    data: dict[str, Any]


class LeaseLost(Exception):
    """Another worker took this delivery over (our lease ran out): write nothing."""


@dataclass
class Delivery:
    """The claim of one (event, subscriber) by one worker, handed to the subscriber."""

    id: uuid.UUID
    subscriber: str
    lease: uuid.UUID
    attempt: int  # 1 on the first try
    merchant_id: uuid.UUID  # the event's (PLATFORM_ID for the platform's own): the row's key
    committed: bool = field(default=False, init=False)

    @property
    def idempotency_key(self) -> str:
        """The same on every attempt of this (event, subscriber): give it to the outside party."""
        return f"outbox-{self.id}"

    def commit(self, record: Callable[[], T]) -> T:
        """Mark the delivery done and run `record` (the subscriber's database writes) in one
        transaction. Raises `LeaseLost` (writing nothing) if the row is no longer ours."""
        with transaction.atomic():
            done = OutboxDelivery.objects.filter(merchant_id=self.merchant_id, id=self.id, lease=self.lease,
                                                 status__in=OPEN).update(
                status=DeliveryStatus.DONE, delivered_at=clock.now(), locked_until=None, last_error="")
            if not done:
                raise LeaseLost(str(self.id))
            result = record()
        self.committed = True
        return result


Handler = Callable[..., None]
OnFailure = Callable[[Event, Delivery, str, bool], None]


@dataclass(frozen=True)
class Subscriber:
    name: str
    patterns: tuple[str, ...]  # event kinds, or globs over kinds ("payout_*", "*")
    handler: Handler  # handler(event), or handler(event, delivery) when two_phase
    two_phase: bool = False
    # Called in the transaction that records a failed attempt (error text, whether it is
    # now dead), so a subscriber can keep its own log in step (notifications does).
    on_failure: OnFailure | None = None

    def matches(self, kind: str) -> bool:
        return any(kind == p or fnmatch.fnmatchcase(kind, p) for p in self.patterns)


_SUBSCRIBERS: dict[str, Subscriber] = {}


def subscribe(kind_or_pattern: str | Iterable[str], handler: Handler, *, name: str, two_phase: bool = False,
              on_failure: OnFailure | None = None) -> Subscriber:
    """Register a subscriber to a kind, a glob, or several; call from an AppConfig.ready().
    The name is stored on each delivery row: keep it stable (renaming a subscriber leaves
    its open deliveries to die as "no subscriber named …", visibly). Registering a name
    again replaces it."""
    patterns = (kind_or_pattern,) if isinstance(kind_or_pattern, str) else tuple(kind_or_pattern)
    sub = Subscriber(name, patterns, handler, two_phase, on_failure)
    _SUBSCRIBERS[name] = sub
    return sub


def unsubscribe(name: str) -> None:
    _SUBSCRIBERS.pop(name, None)


def subscribers_for(kind: str) -> list[Subscriber]:
    return [s for s in _SUBSCRIBERS.values() if s.matches(kind)]


def _check(value: Any, path: str = "data") -> None:
    if isinstance(value, float):
        raise TypeError(f"{path}: money and counts are int; a float is refused")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{path}: keys must be strings")
            _check(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check(v, f"{path}[{i}]")
    elif not (value is None or isinstance(value, str | int | bool)):
        raise TypeError(f"{path}: {type(value).__name__} is not a JSON value (ids as str, money as int fen)")


def emit(kind: str, *, merchant_id: uuid.UUID | None, data: dict[str, Any]) -> uuid.UUID:
    """Record that `kind` happened, in the caller's transaction; returns the event's id."""
    return emit_many([NewEvent(kind, merchant_id, data)])[0]


def emit_many(events: Iterable[NewEvent]) -> list[uuid.UUID]:
    """Record a batch of events (a payout run's answers): one INSERT for the events and one
    for their deliveries, in the caller's transaction."""
    if not connection.in_atomic_block:
        # Outside a transaction the event would commit on its own, and could tell of a
        # change that then failed: that is exactly what the outbox is here to prevent.
        raise RuntimeError("emit inside the transaction of the change the event tells of")
    now = clock.now()
    rows, deliveries = [], []
    for e in events:
        _check(e.data)
        merchant_id = e.merchant_id or PLATFORM_ID
        row = OutboxEvent(id=new_id(), kind=e.kind, merchant_id=merchant_id, data=e.data, created_at=now)
        rows.append(row)
        deliveries += [OutboxDelivery(merchant_id=merchant_id, event=row, subscriber=s.name, next_attempt_at=now)
                       for s in subscribers_for(e.kind)]
    if not rows:
        return []
    OutboxEvent.objects.bulk_create(rows)
    if deliveries:
        OutboxDelivery.objects.bulk_create(deliveries)
        transaction.on_commit(kick)
    return [r.id for r in rows]


def kick() -> None:
    """Ask a worker to deliver now rather than at the next scheduled sweep (after commit)."""
    try:
        deliver_outbox.enqueue()
    except Exception:  # the scheduled sweep delivers it anyway
        log.exception("could not enqueue the outbox delivery")


@dataclass
class DeliveryRun:
    done: int = 0
    failed: int = 0
    dead: int = 0
    lost: int = 0

    @property
    def claimed(self) -> int:
        return self.done + self.failed + self.dead + self.lost


def deliver_due(*, limit: int | None = None) -> DeliveryRun:
    """Claim the due deliveries (at most `limit`, default `OUTBOX_BATCH`) and deliver them."""
    run = DeliveryRun()
    half = dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS / 2)
    for row in _claim(limit or settings.OUTBOX_BATCH):
        if row.locked_until is not None and row.locked_until - clock.now() < half:
            # A slow batch ate most of the lease: do not start a delivery another worker
            # may claim half-way through; the row is claimed again once the lease ends.
            run.lost += 1
            continue
        outcome = _deliver(row)
        setattr(run, outcome, getattr(run, outcome) + 1)
    return run


def deliver_all(*, rounds: int = 100) -> DeliveryRun:
    """Deliver until nothing is due (back-offs still waiting are left): for tests and the CLI."""
    total = DeliveryRun()
    for _ in range(rounds):
        run = deliver_due()
        if not run.claimed:
            break
        for name in ("done", "failed", "dead", "lost"):
            setattr(total, name, getattr(total, name) + getattr(run, name))
    return total


def _claim(limit: int) -> list[OutboxDelivery]:
    now = clock.now()
    lease = new_id()
    free = Q(status__in=OPEN, next_attempt_at__lte=now) & (Q(locked_until__isnull=True) | Q(locked_until__lte=now))
    due = list(OutboxDelivery.objects.filter(free).order_by("next_attempt_at")
               .values_list("merchant_id", "id")[:limit])
    if not due:
        return []
    merchants = {m for m, _ in due}
    with transaction.atomic():
        claimed = OutboxDelivery.objects.filter(free, merchant_id__in=merchants, id__in=[i for _, i in due]).update(
            lease=lease, locked_until=now + dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS),
            attempts=F("attempts") + 1)
    if not claimed:
        return []
    return with_events(list(OutboxDelivery.objects.filter(merchant_id__in=merchants, lease=lease)
                            .order_by("next_attempt_at")))


def with_events(rows: list[OutboxDelivery]) -> list[OutboxDelivery]:
    """The deliveries with their events attached, read by (merchant_id, id)."""
    return attach(rows, "event")


def _event(row: OutboxEvent) -> Event:
    merchant_id = None if row.merchant_id == PLATFORM_ID else row.merchant_id
    return Event(row.id, row.kind, merchant_id, dict(row.data), row.created_at)


def _deliver(row: OutboxDelivery) -> str:
    ctx = Delivery(row.id, row.subscriber, row.lease or uuid.UUID(int=0), row.attempts, row.merchant_id)
    event = _event(row.event)
    sub = _SUBSCRIBERS.get(row.subscriber)
    if sub is None:
        return _fail(None, ctx, event, f"no subscriber named {row.subscriber!r} is registered")
    if ctx.attempt > settings.OUTBOX_MAX_ATTEMPTS:
        # Claimed again after the last attempt's worker died mid-delivery: give up.
        return _fail(sub, ctx, event, row.last_error or "the worker stopped during the last attempt")
    try:
        if sub.two_phase:
            sub.handler(event, ctx)
        else:
            ctx.commit(lambda: sub.handler(event))
        if not ctx.committed:
            ctx.commit(lambda: None)
    except LeaseLost:
        log.warning("outbox delivery %s (%s) was taken over by another worker", row.id, row.subscriber)
        return "lost"
    except Exception as exc:
        log.warning("outbox delivery %s to %s failed (attempt %d): %s", row.id, row.subscriber, ctx.attempt, exc)
        return _fail(sub, ctx, event, f"{type(exc).__name__}: {exc}")
    return "done"


def backoff(attempt: int) -> dt.timedelta:
    """How long after failed attempt `attempt` (1, 2, …) the next one is due."""
    seconds = settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.OUTBOX_RETRY_MAX_SECONDS))


def _fail(sub: Subscriber | None, ctx: Delivery, event: Event, error: str) -> str:
    dead = ctx.attempt >= settings.OUTBOX_MAX_ATTEMPTS
    now = clock.now()
    with transaction.atomic():
        n = OutboxDelivery.objects.filter(merchant_id=ctx.merchant_id, id=ctx.id, lease=ctx.lease,
                                          status__in=OPEN).update(
            status=DeliveryStatus.DEAD if dead else DeliveryStatus.FAILED, last_error=error[:2000],
            next_attempt_at=now + backoff(ctx.attempt), locked_until=None, lease=None)
        if not n:
            return "lost"
        if sub is not None and sub.on_failure is not None:
            sub.on_failure(event, ctx, error, dead)
        if dead:
            raise_alert("outbox_dead", ctx.subscriber,
                        en=f"Deliveries to {ctx.subscriber} gave up after {ctx.attempt} attempts "
                           f"(latest: event {event.kind} {event.id}): {error[:150]}",
                        zh=f"投递给 {ctx.subscriber} 的事件重试 {ctx.attempt} 次后已放弃"
                           f"（最近：{event.kind} {event.id}）：{error[:150]}")
    return "dead" if dead else "failed"


def retry_now(delivery_id: uuid.UUID, merchant_id: uuid.UUID | None = None) -> bool:
    """Make a failed or dead delivery due now with a fresh count (staff's "retry now");
    call inside the transaction that audits it. False if it is not failed or dead. The
    update names the row's merchant (read by id first when not given)."""
    if merchant_id is None:
        merchant_id = OutboxDelivery.objects.filter(id=delivery_id).values_list("merchant_id", flat=True).first()
        if merchant_id is None:
            return False
    return bool(OutboxDelivery.objects.filter(
        merchant_id=merchant_id, id=delivery_id, status__in=(DeliveryStatus.FAILED, DeliveryStatus.DEAD)).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=clock.now(), locked_until=None, lease=None))


@task()
def deliver_outbox() -> dict[str, int]:
    """Deliver the outbox's due events to their subscribers (`core.events`); idempotent,
    so a kick after each commit and the scheduled sweep may overlap."""
    run = deliver_all()
    return {"done": run.done, "failed": run.failed, "dead": run.dead, "lost": run.lost}
