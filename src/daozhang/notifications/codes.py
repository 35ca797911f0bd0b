"""One-time codes to the merchant's registered contact, sent straight through a provider.

Not through the outbox: an event's data, the delivery log and the console's delivery page
are read by staff and kept, and a code must be in none of them (only its hash is stored,
by the service that made it). So the face that got the code from the service hands it to
the provider here, once; the delivery log gets a row with the code blanked, so the console
still shows that a code went out, to which address, and whether the provider took it.
A provider that fails raises `ProviderError`; the caller cancels what the code was for.
"""

from __future__ import annotations

from django.db import transaction

from daozhang.core import clock
from daozhang.merchants.models import Merchant
from daozhang.notifications.models import Notification, NotificationStatus
from daozhang.notifications.providers import Message, ProviderError, get_provider

KIND = "account_change_code"
ZH = ("【到账】结算账户变更验证码：{code}，{minutes} 分钟内有效。请勿告诉任何人，我们的员工不会向您索要。"
      "如非本人操作，请立即联系客服。")
EN = ("daozhang: your settlement-account change code is {code}, valid {minutes} minutes. Tell no one; our staff "
      "will never ask for it. If this was not you, call us now.")


def send_code(*, merchant: Merchant, channel: str, recipient: str, code: str, minutes: int,
              idempotency_key: str) -> str:
    """Send the code; return the provider's message id, or raise `ProviderError`."""
    provider = get_provider(channel)
    zh, en = ZH.format(code=code, minutes=minutes), EN.format(code=code, minutes=minutes)
    message = Message(channel, recipient, "结算账户变更验证码 / Settlement-account change code", f"{zh}\n{en}",
                      idempotency_key)
    blank = "••••••"
    log = {"merchant": merchant, "kind": KIND, "channel": channel, "recipient": recipient,
           "body_zh": ZH.format(code=blank, minutes=minutes), "body_en": EN.format(code=blank, minutes=minutes),
           "provider": provider.name, "attempts": 1}
    if provider.in_database:  # the sandboxes: the message and its log row commit together
        with transaction.atomic():
            provider_id = provider.send(message)
            Notification.objects.create(**log, status=NotificationStatus.SENT, provider_message_id=provider_id,
                                        sent_at=clock.now())
        return provider_id
    row = Notification.objects.create(**log, status=NotificationStatus.QUEUED)
    try:
        provider_id = provider.send(message)
    except ProviderError as exc:
        Notification.objects.filter(id=row.id).update(status=NotificationStatus.DEAD, error=str(exc)[:2000])
        raise
    Notification.objects.filter(id=row.id).update(status=NotificationStatus.SENT, provider_message_id=provider_id[:200],
                                                  sent_at=clock.now())
    return provider_id
