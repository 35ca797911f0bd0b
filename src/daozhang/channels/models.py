"""State of the sandbox channels that must be shared by every process: injected faults."""

from __future__ import annotations

from django.db import models


class SandboxFault(models.Model):
    """A switchable fault, e.g. an outage of the WeChat Pay sandbox, set from the CLI."""

    channel = models.CharField(max_length=20)
    kind = models.CharField(max_length=20, default="outage")
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "kind"], name="sandbox_fault_once")]
