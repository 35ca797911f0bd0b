"""What we told merchants (SMS, e-mail): the delivery log of each message, and the sandbox's inbox.

A message is made from an outbox event (`core.events`) by a notifications subscriber and
sent through the provider the configuration names (`notifications.providers`); its row
here says how that went: queued, sent (with the provider's message id), failed (will be
tried again) or dead (given up; staff may retry from the console)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from daozhang.core.ids import new_id
from daozhang.core.keyed import MerchantKeyed


class NotificationStatus(models.TextChoices):
    QUEUED = "queued", "Queued 待发送"
    SENT = "sent", "Sent 已发送"
    FAILED = "failed", "Failed, will retry 失败待重试"
    DEAD = "dead", "Gave up 已放弃"


class Notification(MerchantKeyed):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    # Messages go to merchants only (the platform's own events have no recipient here).
    # Keyed (merchant_id, id) on PostgreSQL (notifications 0003).
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="notifications")
    kind = models.CharField(max_length=40)  # the event's kind
    channel = models.CharField(max_length=10)  # sms | email
    recipient = models.CharField(max_length=200)
    body_zh = models.TextField()
    body_en = models.TextField()
    status = models.CharField(max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    provider = models.CharField(max_length=100, blank=True, default="")
    provider_message_id = models.CharField(max_length=200, blank=True, default="")
    error = models.TextField(blank=True, default="")
    # The outbox event it was made from (no foreign key: events may be archived on their own).
    event_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One message per event and channel, however often its delivery is attempted.
            models.UniqueConstraint(fields=["merchant", "event_id", "channel"],
                                    condition=models.Q(event_id__isnull=False), name="notification_once_per_event"),
        ]
        indexes = [models.Index(fields=["merchant", "sent_at"], name="notification_merchant_sent"),
                   models.Index(fields=["status", "created_at"], name="notification_status")]

    @property
    def masked_recipient(self) -> str:
        return mask_recipient(self.recipient)


def mask_recipient(recipient: str) -> str:
    """Enough to tell which address it was, not enough to copy it: +86 138****5678, z***@shop.cn."""
    if "@" in recipient:
        local, _, domain = recipient.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = recipient.strip()
    if digits.startswith("+86") and len(digits) == 14:  # E.164, as merchants' phones are stored
        return "+86 " + mask_recipient(digits[3:])
    if len(digits) <= 4:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else f"****{digits[-4:]}"


class SandboxMessage(models.Model):
    """What the sandbox providers "sent": the outside party's inbox, for demos and tests
    (like the sandbox bank's transfers). Written in the delivery's own transaction."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    channel = models.CharField(max_length=10)
    recipient = models.CharField(max_length=200)
    subject = models.CharField(max_length=200, blank=True, default="")
    body = models.TextField()
    idempotency_key = models.CharField(max_length=120)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["idempotency_key"], name="sandbox_message_key")]
