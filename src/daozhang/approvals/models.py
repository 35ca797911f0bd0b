"""Four-eyes approval (双人复核): one person asks, another decides.

A request names a registered kind (what would happen), carries the payload its handler
needs, and a one-line summary in both languages written when it was made, so the checker
reads what the maker asked for, not what the code would compute later. The decision is
one conditional UPDATE from `pending` (approvals.services), so a request is decided once.
"""

from __future__ import annotations

from django.db import models

from daozhang.core.ids import new_id


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending 待复核"
    APPROVED = "approved", "Approved 已批准"
    REJECTED = "rejected", "Rejected 已驳回"
    EXPIRED = "expired", "Expired 已过期"
    CANCELLED = "cancelled", "Cancelled 已撤销"


class ApprovalRequest(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    kind = models.CharField(max_length=60)  # a registered kind: "settlement.adjustment", …
    merchant_id = models.UUIDField(null=True, blank=True)  # whose money, when it is a merchant's
    payload = models.JSONField(default=dict)
    summary_zh = models.CharField(max_length=300)
    summary_en = models.CharField(max_length=300)
    object_type = models.CharField(max_length=40, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    # The maker: an audit label ("staff:alice", "merchant-user:owner1") and the user's id.
    maker = models.CharField(max_length=120)
    maker_user_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    checker = models.CharField(max_length=120, blank=True, default="")
    checker_user_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True, default="")
    result = models.JSONField(null=True, blank=True)  # what the handler did (ids of what it made)

    class Meta:
        indexes = [models.Index(fields=["status", "expires_at"], name="approval_status_expiry"),
                   models.Index(fields=["object_type", "object_id"], name="approval_object")]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"
