"""Customer-service cases, with the diagnosis the product could make attached."""

from __future__ import annotations

from django.db import models

from daozhang.core.ids import new_id


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open 待处理"
    IN_PROGRESS = "in_progress", "In progress 处理中"
    RESOLVED = "resolved", "Resolved 已解决"


class SupportCase(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    case_no = models.CharField(max_length=20, unique=True)
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


class CaseEvent(models.Model):
    """The history of a case: who said or did what."""

    case = models.ForeignKey(SupportCase, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.CharField(max_length=120)
    note = models.TextField()
