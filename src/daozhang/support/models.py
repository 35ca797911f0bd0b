"""Customer-service cases, with the diagnosis the product could make attached."""

from __future__ import annotations

from django.db import models

from daozhang.core.ids import new_id
from daozhang.core.keyed import MerchantKeyed


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open 待处理"
    IN_PROGRESS = "in_progress", "In progress 处理中"
    RESOLVED = "resolved", "Resolved 已解决"


class SupportCase(MerchantKeyed):
    """Keyed (merchant_id, id) on PostgreSQL (support migration 0002, core.migration_ops).

    `case_no` is unique per merchant in the database (a distributed engine can only enforce
    a key that includes the merchant). It stays unique platform-wide in practice: the number
    is the platform's count of the Shanghai day's cases plus one, and two cases opened at
    once for the same merchant retry on the key; two merchants' cases opened at the same
    instant could share a number, which staff tell apart by the merchant shown beside it
    on every page (and every link is by the case's id).
    """


    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    case_no = models.CharField(max_length=20)
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="support_cases")
    kind = models.CharField(max_length=40)
    subject = models.CharField(max_length=200)
    status = models.CharField(max_length=12, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    diagnosis = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["merchant", "created_at"], name="case_merchant_created"),
                   models.Index(fields=["status", "created_at"], name="case_status_created")]
        constraints = [models.UniqueConstraint(fields=["merchant", "case_no"], name="case_no_per_merchant")]


class CaseEvent(MerchantKeyed):
    """The history of a case: who said or did what. Carries its case's merchant, so the
    event lives on the merchant's shard and points at the case by (merchant_id, case_id)."""

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(SupportCase, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.CharField(max_length=120)
    note = models.TextField()
