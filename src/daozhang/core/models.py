"""Shared bookkeeping tables."""

from __future__ import annotations

from django.db import models


class PeriodicRun(models.Model):
    """One row per periodic job per time slot: the unique key lets any number of workers
    run the scheduler while each slot is enqueued exactly once."""

    name = models.CharField(max_length=80)
    slot = models.BigIntegerField()
    enqueued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="periodic_run_once")]


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
