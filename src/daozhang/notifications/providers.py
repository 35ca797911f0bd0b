"""Who carries a message: one provider per channel, chosen by configuration
(`settings.NOTIFY_PROVIDERS`, class paths, like the payment channels and the bank).

Shipped:
- `SandboxSms` (the SMS default) and `SandboxEmail` (the e-mail default when no SMTP host
  is set, so `make run` works offline): they "send" by writing a `SandboxMessage` row in
  the delivery's own transaction, so a sandbox message is recorded exactly once.
- `SmtpEmail`: real e-mail through Django's SMTP backend (`EMAIL_HOST`, `EMAIL_PORT`,
  `EMAIL_HOST_USER`, `EMAIL_HOST_PASSWORD`, `EMAIL_USE_TLS`/`EMAIL_USE_SSL`, `EMAIL_TIMEOUT`,
  `DEFAULT_FROM_EMAIL`; set from `DAOZHANG_SMTP_*`, docs/notifications.md). The message's
  Message-ID is made from the delivery's idempotency key, the same on every attempt: a
  second copy after a crash between the server's "250 OK" and our commit carries the same
  Message-ID, which mail systems and readers use to fold duplicates.

A real SMS gateway plugs in as another subclass of `Provider` named in
`DAOZHANG_SMS_PROVIDER`; give it the idempotency key as the gateway's de-duplication id
where it has one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils.module_loading import import_string

from daozhang.notifications.models import SandboxMessage


@dataclass(frozen=True)
class Message:
    channel: str  # sms | email
    recipient: str
    subject: str
    body: str
    idempotency_key: str  # the same on every attempt of this message


class ProviderError(Exception):
    """The provider did not take the message; the delivery is tried again later."""


class Provider(ABC):
    name: str = ""
    # True when sending is a write in our own database (the sandboxes): it then runs in the
    # transaction that marks the delivery done, and is exactly once. False for a network
    # call, made outside any transaction: at least once across a crash (core.events).
    in_database: bool = False

    @abstractmethod
    def send(self, message: Message) -> str:
        """Hand the message over; return the provider's id for it, or raise `ProviderError`."""


class _Sandbox(Provider):
    in_database = True

    def send(self, message: Message) -> str:
        row = SandboxMessage.objects.create(channel=message.channel, recipient=message.recipient,
                                            subject=message.subject[:200], body=message.body,
                                            idempotency_key=message.idempotency_key)
        return f"sandbox-{row.id}"


class SandboxSms(_Sandbox):
    name = "sandbox-sms"


class SandboxEmail(_Sandbox):
    name = "sandbox-email"


SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


class SmtpEmail(Provider):
    """E-mail over SMTP. The backend is named here, not taken from `EMAIL_BACKEND`: this
    provider is SMTP by definition (and the test runner's locmem backend must not catch it)."""

    name = "smtp"

    def send(self, message: Message) -> str:
        from_email = settings.DEFAULT_FROM_EMAIL
        domain = from_email.rsplit("@", 1)[-1].strip(" >") if "@" in from_email else "daozhang.local"
        message_id = f"<{message.idempotency_key}@{domain}>"
        connection = get_connection(SMTP_BACKEND, fail_silently=False)
        email = EmailMessage(subject=message.subject, body=message.body, from_email=from_email,
                             to=[message.recipient], headers={"Message-ID": message_id}, connection=connection)
        try:
            email.send()
        except OSError as exc:  # smtplib.SMTPException is an OSError, as are refused connections
            raise ProviderError(f"SMTP {settings.EMAIL_HOST}:{settings.EMAIL_PORT}: {exc}") from exc
        return message_id


def get_provider(channel: str) -> Provider:
    provider: Provider = import_string(settings.NOTIFY_PROVIDERS[channel])()
    return provider
