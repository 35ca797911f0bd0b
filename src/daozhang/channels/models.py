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


class SandboxBankAccount(models.Model):
    """What the sandbox bank knows about an account: its real holder, closed, type-II."""

    account_number = models.CharField(max_length=32, unique=True)
    holder_name = models.CharField(max_length=200)
    closed = models.BooleanField(default=False)
    type_ii = models.BooleanField(default=False)


class SandboxBankTransfer(models.Model):
    """The sandbox bank's own record of a transfer, keyed by our payout id (idempotency)."""

    payout_id = models.UUIDField(unique=True)
    amount = models.BigIntegerField()
    account_number = models.CharField(max_length=32)
    holder_name = models.CharField(max_length=200)
    return_code = models.CharField(max_length=8, blank=True, default="")
    reason = models.CharField(max_length=200, blank=True, default="")
    bank_ref = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)
