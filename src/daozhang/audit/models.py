"""The append-only audit log: who did what, when, to which object, before and after."""

from __future__ import annotations

from django.db import models

from daozhang.core.ids import new_id


class AuditEvent(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=120)  # "staff:alice", "merchant-key:dzk_ab12", "system"
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    merchant_id = models.UUIDField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["merchant_id", "at"], name="audit_merchant_at"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]
