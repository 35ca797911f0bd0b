"""Sending notifications. The sandbox provider records the message as delivered; a real SMS
or e-mail gateway plugs in behind `send` without changing the callers."""

from __future__ import annotations

from daozhang.merchants.models import Merchant
from daozhang.notifications.models import Notification


def notify(merchant: Merchant, kind: str, *, en: str, zh: str) -> Notification:
    """Tell the merchant by SMS (and e-mail when it has an address), in both languages."""
    sms = Notification.objects.create(merchant=merchant, kind=kind, channel="sms",
                                      recipient=merchant.contact_phone, body_en=en, body_zh=zh)
    if merchant.contact_email:
        Notification.objects.create(merchant=merchant, kind=kind, channel="email",
                                    recipient=merchant.contact_email, body_en=en, body_zh=zh)
    return sms


def notify_many(messages: list[tuple[Merchant, str, str, str]]) -> None:
    """(merchant, kind, English, 中文) each, written in one statement: for batch jobs."""
    rows = []
    for merchant, kind, en, zh in messages:
        rows.append(Notification(merchant=merchant, kind=kind, channel="sms", recipient=merchant.contact_phone,
                                 body_en=en, body_zh=zh))
        if merchant.contact_email:
            rows.append(Notification(merchant=merchant, kind=kind, channel="email", recipient=merchant.contact_email,
                                     body_en=en, body_zh=zh))
    Notification.objects.bulk_create(rows)
