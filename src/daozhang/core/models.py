"""Shared bookkeeping tables."""

from __future__ import annotations

from django.db import models

from daozhang.core.ids import new_id


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
    (`core.once`). Written in the same transaction as the change it answers."""

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
