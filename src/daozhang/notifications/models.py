"""Messages sent to merchants and cardholders (SMS, e-mail), kept as the record of what we said."""

from __future__ import annotations

from django.db import models

from daozhang.core.ids import new_id


class Notification(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    merchant = models.ForeignKey("merchants.Merchant", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="notifications")
    kind = models.CharField(max_length=40)
    channel = models.CharField(max_length=10)  # sms | email
    recipient = models.CharField(max_length=200)
    body_zh = models.TextField()
    body_en = models.TextField()
    status = models.CharField(max_length=10, default="sent")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["merchant", "sent_at"], name="notification_merchant_sent")]
