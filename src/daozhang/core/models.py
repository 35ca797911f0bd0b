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
