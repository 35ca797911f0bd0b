"""Credentials for the HTTP API (merchant API keys and staff tokens, hashed at rest) and the
failure counters that slow down password guessing (access.throttle).

Keys carry 256 bits of randomness, so a fast SHA-256 is enough (nothing to brute-force);
a slow password hash would only slow every API call. The prefix is stored in clear so a
key can be recognised in lists and logs without revealing it.

A credential stops working when it is revoked or when `expires_at` has passed (both
answer 401 naming the reason). `last_used_at` / `last_used_from` show its owner whether a
key they thought unused is still being used; they are written at most once a minute per
credential (access.services.touch) so the API's hot path does not gain a write per call.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from daozhang.core.ids import new_id
from daozhang.core.keyed import MerchantKeyed


class Credential(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    name = models.CharField(max_length=60)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # None: never expires (API keys by default, docs/operations.md).
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_from = models.CharField(max_length=45, blank=True, default="")

    class Meta:
        abstract = True


class ApiKey(MerchantKeyed, Credential):
    """A merchant's API key, keyed (merchant_id, id) on PostgreSQL (migration 0004).

    The hash is unique per merchant, not platform-wide: a database distributed by merchant
    cannot enforce a key without it, and a key is 256 random bits, so two keys never hash
    alike in practice (the platform-wide key was a guard, not a rule anything relies on).
    The lookup by hash, before the merchant is known, is served by a plain index on
    `key_hash`; on a distributed database it asks every shard (one indexed read each).
    Should that read cost too much there, the next step is a reference table of
    (key_hash → merchant_id, id), written when a key is issued (docs/operations.md).
    """

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="api_keys")
    key_hash = models.CharField(max_length=64, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "key_hash"], name="api_key_hash_per_merchant")]


class StaffToken(Credential):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")


class ThrottleScope(models.TextChoices):
    USER = "user", "用户名 Username"
    ADDRESS = "addr", "地址 Address"
    PAIR = "pair", "用户名+地址 Username at address"
    API = "api", "API 地址 API address"


class LoginThrottle(models.Model):
    """One failure counter: for a username, an address, a (username, address) pair, or an
    address sending unknown API keys. `blocked_until` is when the next attempt that this
    counter covers is heard again; attempts refused before then are not counted, so a
    flood cannot push the wait past its cap (access.throttle)."""

    scope = models.CharField(max_length=4, choices=ThrottleScope.choices)
    subject = models.CharField(max_length=300)  # casefolded username, address (IPv6: its /64), or both
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField()
    blocked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "subject"], name="access_throttle_scope_subject")]
