"""The append-only audit log: who did what, when, to which object, before and after.

Rows are never updated or deleted (database triggers refuse it, audit 0003; on PostgreSQL
the application's role has only INSERT and SELECT on the table) and each is a link of a
hash chain, per merchant plus one for the platform (`audit.chain`): `daozhang audit verify`
finds a row edited, deleted or reordered behind the application's back.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from daozhang.core.ids import new_id


class AuditEvent(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(max_length=120)  # "staff:alice", "merchant-key:dzk_ab12", "system"
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    # The merchant whose chain the row is in; the platform's rows carry PLATFORM_ID
    # (core.distribution). Keyed (merchant_id, id) on PostgreSQL (audit 0004).
    merchant_id = models.UUIDField()
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    # The row's place in its chain (merchant_id's, or the platform's), the hash of the row
    # before it ("0" * 64 for the first) and its own (audit.chain.row_hash).
    seq = models.BigIntegerField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        indexes = [
            models.Index(fields=["merchant_id", "at"], name="audit_merchant_at"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["merchant_id", "seq"], name="audit_chain_seq"),
        ]


class AuditChain(models.Model):
    """The head of one chain: its last seq and hash. Appending locks this row (FOR UPDATE
    on PostgreSQL) until the writer commits, so a chain's rows are numbered without gaps;
    different chains never wait for each other."""

    chain = models.CharField(primary_key=True, max_length=36)  # a merchant's id, or "platform"
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)
