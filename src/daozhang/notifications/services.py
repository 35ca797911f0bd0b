"""Staff actions on the delivery log. Messages themselves are made from outbox events by
the subscribers (`notifications.subscribers`); no service sends one directly any more."""

from __future__ import annotations

import uuid

from django.db import transaction

from daozhang.audit import services as audit
from daozhang.core import events
from daozhang.core.errors import DomainError
from daozhang.core.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from daozhang.notifications.models import Notification, NotificationStatus
from daozhang.notifications.subscribers import channel_of


def retry_delivery(*, delivery_id: uuid.UUID, actor: str, note: str = "") -> OutboxDelivery:
    """Staff's "retry now" on a failed or dead delivery: due at once, with a fresh count of
    attempts; audited, and the worker is asked to deliver it when this commits."""
    with transaction.atomic():
        row = OutboxDelivery.objects.lock(id=delivery_id)
        if row is None:
            raise DomainError("not_found", "delivery_id", status=404)
        event = OutboxEvent.objects.get(merchant_id=row.merchant_id, id=row.event_id)
        if row.status not in (DeliveryStatus.FAILED, DeliveryStatus.DEAD):
            raise DomainError("bad_transition", "delivery_id", {"current": row.status, "target": "pending"}, 409)
        before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
        events.retry_now(row.id, row.merchant_id)
        channel = channel_of(row.subscriber)
        if channel:
            Notification.objects.filter(merchant_id=row.merchant_id, event_id=row.event_id, channel=channel).update(
                status=NotificationStatus.QUEUED)
        audit.record(actor=actor, action="outbox.retry", obj_type="outbox_delivery", obj_id=row.id,
                     merchant_id=row.merchant_id, before=before,
                     after={"status": DeliveryStatus.PENDING, "event": event.kind, "subscriber": row.subscriber,
                            "note": note.strip()[:300]})
        transaction.on_commit(events.kick)
    row.refresh_from_db()
    return row
