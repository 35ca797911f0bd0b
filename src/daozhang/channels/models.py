"""State of the sandbox channels that must be shared by every process: injected faults, and
the sandbox bank's accounts and transfers."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import models


class SandboxFault(models.Model):
    """A switchable fault, e.g. an outage of the WeChat Pay sandbox, set from the CLI."""

    channel = models.CharField(max_length=20)
    kind = models.CharField(max_length=20, default="outage")
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "kind"], name="sandbox_fault_once")]


def account_digest(number: str) -> str:
    """The sandbox bank's key for an account number: an HMAC-SHA256 under PAN_TOKEN_KEY
    (a personal account number is a debit card number, so a bare hash of it could be
    brute-forced back from its masked form, like a card's token)."""
    return hmac.new(settings.PAN_TOKEN_KEY.encode(), b"bank-account:" + number.encode(), hashlib.sha256).hexdigest()


def masked_account(number: str) -> str:
    """How an account number is shown: first four and last four (merchants.SettlementAccount's form)."""
    return f"{number[:4]} **** {number[-4:]}" if len(number) > 8 else "****"


class SandboxBankAccountQuerySet(models.QuerySet["SandboxBankAccount"]):
    def for_number(self, number: str) -> SandboxBankAccountQuerySet:
        return self.filter(account_hash=account_digest(number))


class SandboxBankAccount(models.Model):
    """What the sandbox bank knows about an account: its real holder, closed, type-II.

    Even in the sandbox no account number is kept in clear (the sandbox runs on the
    production schema, and a personal account is a card number): the bank finds an
    account by the keyed hash of its number and shows it masked."""

    account_hash = models.CharField(max_length=64, unique=True)
    account_masked = models.CharField(max_length=40)
    holder_name = models.CharField(max_length=200)
    closed = models.BooleanField(default=False)
    type_ii = models.BooleanField(default=False)

    objects = SandboxBankAccountQuerySet.as_manager()

    @classmethod
    def register(cls, *, account_number: str, holder_name: str, closed: bool = False,
                 type_ii: bool = False) -> SandboxBankAccount:
        """The bank's record of an account (the first registration of a number stays)."""
        account, _ = cls.objects.get_or_create(
            account_hash=account_digest(account_number),
            defaults={"account_masked": masked_account(account_number), "holder_name": holder_name,
                      "closed": closed, "type_ii": type_ii})
        return account


class SandboxBankTransfer(models.Model):
    """The sandbox bank's own record of a transfer, keyed by our payout id (idempotency).
    The payee's account number as the bank's keyed hash and masked form, never in clear."""

    payout_id = models.UUIDField(unique=True)
    amount = models.BigIntegerField()
    account_hash = models.CharField(max_length=64)
    account_masked = models.CharField(max_length=40)
    holder_name = models.CharField(max_length=200)
    return_code = models.CharField(max_length=8, blank=True, default="")
    reason = models.CharField(max_length=200, blank=True, default="")
    bank_ref = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)
