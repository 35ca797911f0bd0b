"""Credentials for the HTTP API: merchant API keys and staff tokens, hashed at rest.

Keys carry 256 bits of randomness, so a fast SHA-256 is enough (nothing to brute-force);
a slow password hash would only slow every API call. The prefix is stored in clear so a
key can be recognised in lists and logs without revealing it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from daozhang.core.ids import new_id


class ApiKey(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=60)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)


class StaffToken(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=60)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)


class IdempotencyRecord(models.Model):
    """The stored answer to a state-changing API call, replayed for the same key."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    scope = models.CharField(max_length=60)  # "merchant:<id>" or "staff:<user id>"
    key = models.CharField(max_length=120)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key")]
