"""Notifications as outbox subscribers: one per channel, `notifications.sms` and
`notifications.email`, each listening to the kinds that have a template (`templates.KINDS`).

Per event and channel: the merchant's address for the channel (none: nothing to send, the
delivery is simply done), the message rendered from the event's data, then the provider:

- a provider that writes to our own database (the sandboxes) sends inside the delivery's
  commit: the message, its log row and the done mark commit together, exactly once;
- a network provider (SMTP) sends outside any transaction with the delivery's idempotency
  key, after the log row says "queued", and the log row says "sent" in the commit that
  marks the delivery done (at least once across a crash: `core.events`).

A failed attempt is written to the log row (failed, or dead after the last attempt) in
the transaction that records the failure on the delivery, so the two never disagree.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from django.db import transaction

from daozhang.core import clock
from daozhang.core.events import Delivery, Event, subscribe
from daozhang.merchants.models import Merchant
from daozhang.notifications.models import Notification, NotificationStatus
from daozhang.notifications.providers import Message, Provider, get_provider
from daozhang.notifications.templates import KINDS, render

CHANNELS = ("sms", "email")


def subscriber_name(channel: str) -> str:
    return f"notifications.{channel}"


def channel_of(subscriber: str) -> str | None:
    prefix, _, channel = subscriber.partition(".")
    return channel if prefix == "notifications" and channel in CHANNELS else None


def register() -> None:
    for channel in CHANNELS:
        subscribe(KINDS, partial(deliver, channel), name=subscriber_name(channel), two_phase=True,
                  on_failure=partial(failed, channel))


def _recipient(merchant: Merchant | None, channel: str) -> str:
    if merchant is None:
        return ""
    return (merchant.contact_phone if channel == "sms" else merchant.contact_email) or ""


def _owner(event: Event) -> uuid.UUID:
    """The merchant a logged message belongs to: only merchants' events are messaged."""
    if event.merchant_id is None:
        raise ValueError(f"event {event.id} ({event.kind}) is the platform's: it has no message log")
    return event.merchant_id


def deliver(channel: str, event: Event, delivery: Delivery) -> None:
    merchant = Merchant.objects.filter(id=event.merchant_id).first() if event.merchant_id else None
    recipient = _recipient(merchant, channel)
    if not recipient:
        return  # no address on this channel (a merchant without e-mail): nothing to send
    text = render(event.kind, event.data)
    provider = get_provider(channel)
    message = Message(channel, recipient, text.subject, text.text, delivery.idempotency_key)
    log: dict[str, Any] = {"merchant": merchant, "kind": event.kind, "recipient": recipient, "body_zh": text.zh,
           "body_en": text.en, "provider": provider.name}
    if provider.in_database:
        delivery.commit(lambda: _send_and_log(provider, message, event, channel, delivery, log))
        return
    _queued(event, channel, delivery, log)
    provider_id = provider.send(message)
    delivery.commit(lambda: _mark_sent(event, channel, delivery, provider, provider_id))


def _send_and_log(provider: Provider, message: Message, event: Event, channel: str, delivery: Delivery,
                  log: dict[str, Any]) -> None:
    provider_id = provider.send(message)
    Notification.objects.update_or_create(merchant_id=_owner(event), event_id=event.id, channel=channel, defaults={
        **log, "status": NotificationStatus.SENT, "attempts": delivery.attempt, "provider_message_id": provider_id,
        "error": "", "sent_at": clock.now()})


def _queued(event: Event, channel: str, delivery: Delivery, log: dict[str, Any]) -> None:
    """The log row before a network send, in its own commit: a crash during the send leaves
    "queued" (with the attempt it was at) in the console, not nothing."""
    with transaction.atomic():
        _, made = Notification.objects.get_or_create(merchant_id=_owner(event), event_id=event.id, channel=channel,
                                                     defaults={**log, "attempts": delivery.attempt})
        if not made:
            Notification.objects.filter(merchant_id=_owner(event), event_id=event.id, channel=channel).update(
                attempts=delivery.attempt)


def _mark_sent(event: Event, channel: str, delivery: Delivery, provider: Provider, provider_id: str) -> None:
    Notification.objects.filter(merchant_id=_owner(event), event_id=event.id, channel=channel).update(
        status=NotificationStatus.SENT, attempts=delivery.attempt, provider=provider.name,
        provider_message_id=provider_id[:200], error="", sent_at=clock.now())


def failed(channel: str, event: Event, delivery: Delivery, error: str, dead: bool) -> None:
    """The delivery's failure, in the log: inside the transaction that records it (core.events)."""
    if event.merchant_id is None:
        return  # the platform's own event: no merchant to message, the delivery row keeps the error
    status = NotificationStatus.DEAD if dead else NotificationStatus.FAILED
    n = Notification.objects.filter(merchant_id=_owner(event), event_id=event.id, channel=channel).update(
        status=status, attempts=delivery.attempt, error=error[:2000])
    if n:
        return
    # Nothing logged yet (a sandbox send rolled back, or the message could not be made):
    # log what we know, so the failure is visible beside the sent ones.
    merchant = Merchant.objects.filter(id=event.merchant_id).first()
    if merchant is None:
        return
    try:
        text = render(event.kind, event.data)
        zh, en = text.zh, text.en
    except (KeyError, ValueError, TypeError):
        zh = en = ""
    Notification.objects.create(merchant=merchant, kind=event.kind, channel=channel,
                                recipient=_recipient(merchant, channel), body_zh=zh, body_en=en, status=status,
                                attempts=delivery.attempt, error=error[:2000], event_id=event.id)
