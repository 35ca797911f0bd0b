"""Shared bookkeeping tables."""

from __future__ import annotations

from django.db import models

from daozhang.core.ids import new_id
from daozhang.core.keyed import MerchantKeyed


class JobRun(models.Model):
    """Progress of a long batch job (import, settlement run, reconciliation), for the console.

    Written in its own short transactions as the job advances, so staff can watch a run
    from another process and see where a crashed one stopped.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running 进行中"
        SUCCEEDED = "succeeded", "Succeeded 成功"
        FAILED = "failed", "Failed 失败"

    kind = models.CharField(max_length=40)
    label = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    total = models.BigIntegerField(null=True, blank=True)
    done = models.BigIntegerField(default=0)
    message = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Which process runs it (`core.progress`): a later run of the same kind marks a row whose
    # process is gone "interrupted" instead of leaving it "running" forever. `proc_start`
    # (the process's start time, from /proc) tells a reused pid from the original.
    host = models.CharField(max_length=255, blank=True, default="")
    pid = models.PositiveIntegerField(null=True, blank=True)
    proc_start = models.CharField(max_length=40, blank=True, default="")
    # Refreshed as the job advances: how a run on another machine is judged alive.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "started_at"], name="jobrun_kind_started")]


class Alert(models.Model):
    """Something staff must act on (a calendar year missing, a payout queue stuck…).

    One open alert per (kind, key); raising it again only refreshes it.
    """

    kind = models.CharField(max_length=40)
    key = models.CharField(max_length=80)
    message_en = models.CharField(max_length=300)
    message_zh = models.CharField(max_length=300)
    raised_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], condition=models.Q(resolved_at__isnull=True),
                                    name="one_open_alert"),
        ]


class IdempotencyRecord(models.Model):
    """The stored answer to a state-changing request, replayed for the same key
    (`core.once`). Written in the same transaction as the change it answers. Keyed
    (merchant_id, id) on PostgreSQL (migration core 0011, core.migration_ops.MerchantKeys):
    a staff or platform call's record lives under the platform tenant `PLATFORM_ID`."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    # Whose request: the merchant's id, or `PLATFORM_ID` for staff and platform calls.
    merchant_id = models.UUIDField()
    scope = models.CharField(max_length=60)  # "merchant:<id>", "staff:<user id>", "page-user:<id>"
    key = models.CharField(max_length=120)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField()
    # Kept at least until then (`IDEMPOTENCY_TTL_HOURS`); the purge job deletes it after.
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant_id", "scope", "key"], name="idempotency_once")]
        # The purge's index on `expires_at` is made by migration core 0008: a BRIN index on
        # PostgreSQL (rows arrive in expiry order; it costs the online sale next to nothing
        # to keep, where a B-tree costs an index insert per request), a B-tree on SQLite.


class OutboxEvent(MerchantKeyed):
    """Something that happened in a domain, written in the transaction that made it happen
    (`core.events.emit`): the event exists if and only if the change committed. Subscribers
    (notifications, later webhooks and risk rules) get it from the worker, never inline."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    kind = models.CharField(max_length=60)  # "payout_paid", "funds_frozen", … (docs/notifications.md)
    # Whose event; the platform's own carry core.ids.PLATFORM_ID (subscribers get None).
    # Keyed (merchant_id, id) on PostgreSQL (core 0012), its deliveries beside it.
    merchant_id = models.UUIDField()
    data = models.JSONField(default=dict)  # JSON values only: amounts as int fen, ids as strings
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["merchant_id", "created_at"], name="outbox_event_merchant")]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending 待投递"
    FAILED = "failed", "Failed, will retry 失败待重试"
    DONE = "done", "Delivered 已投递"
    DEAD = "dead", "Gave up 已放弃"


class OutboxDelivery(MerchantKeyed):
    """One event for one subscriber: written beside the event, delivered once.

    The worker claims a due row by a lease (`locked_until`, `lease`), and marks it done in
    the transaction that commits the subscriber's own writes (`core.events`)."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    merchant_id = models.UUIDField()  # the event's: a delivery lives beside its event (core 0012)
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.CharField(max_length=60)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)
    lease = models.UUIDField(null=True, blank=True)  # the claiming worker's token; only it may finish the row
    last_error = models.TextField(blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant_id", "event", "subscriber"],
                                               name="outbox_delivery_once")]
        indexes = [
            # The worker's scan: open rows by due time (done and dead rows are not in it).
            models.Index(fields=["next_attempt_at"], name="outbox_delivery_due",
                         condition=models.Q(status__in=["pending", "failed"])),
            models.Index(fields=["status", "next_attempt_at"], name="outbox_delivery_status"),
        ]


class UniqueValue(models.Model):
    """A value unique across all merchants, and the merchant that holds it (`core.unique`).

    A distributed engine sharding by merchant (docs/operations.md "Scaling out") cannot
    enforce a unique key without `merchant_id` on a distributed table: each shard only sees
    its own merchants. Some values must still be the platform's once: a merchant number is
    issued once, a licence's USCC onboards one merchant, a login belongs to one merchant.
    Each such value is a row here, keyed (namespace, value), written by `core.unique.claim`
    in the same transaction as the row it guards; the key refuses a second holder.

    A platform table (core/distribution.py), not a reference table: it is written with every
    new merchant and login and read by the application through the coordinator, never
    joined with a merchant's rows on a shard, so it lives on the coordinator alone, where
    its key is one local index. A reference table would be copied to every node: each
    claim a write to all of them, under one cluster-wide lock, for reads no shard makes.
    No foreign key to the merchant for the same reason (a platform table points at no
    distributed one); `merchant_id` is the holder's id.
    """

    pk = models.CompositePrimaryKey("namespace", "value")
    namespace = models.CharField(max_length=40)  # "<app>.<what>": "merchants.uscc", "merchants.user"
    value = models.CharField(max_length=200)
    merchant_id = models.UUIDField()
