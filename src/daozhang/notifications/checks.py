"""System checks of the message providers: no sandbox SMS or e-mail in production.

A sandbox provider records a message in a table instead of sending it. In production that
is worse than a lost "your payout was paid": the one-time code that confirms a
settlement-account change would go to a table staff can read instead of to the merchant's
phone, and an insider could confirm a change the owner never saw. So production refuses
them, as it refuses the sandbox bank (channels/checks.py); a pilot that has no SMS gateway
yet may allow them with DAOZHANG_PILOT_SANDBOX_MESSAGES=1, warned at every start.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from daozhang.core.checks import TAG
from daozhang.core.mode import is_production

VARIABLES = {"sms": "DAOZHANG_SMS_PROVIDER", "email": "DAOZHANG_EMAIL_PROVIDER"}
HOW = {"sms": "Name your SMS gateway's adapter (a notifications.providers.Provider) in DAOZHANG_SMS_PROVIDER",
       "email": "Set DAOZHANG_SMTP_HOST (and DAOZHANG_SMTP_USER, DAOZHANG_SMTP_PASSWORD): e-mail then goes "
                "over SMTP"}


def is_sandbox(class_path: str) -> bool:
    return class_path.startswith("daozhang.notifications.providers.Sandbox")


@checks.register(TAG)
def check_providers(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if not is_production():
        return []
    sandboxed = [channel for channel, path in settings.NOTIFY_PROVIDERS.items() if is_sandbox(str(path))]
    if settings.PILOT_SANDBOX_MESSAGES:
        return [checks.Warning(
            f"Pilot: {VARIABLES.get(c, c)} is the sandbox in production (DAOZHANG_PILOT_SANDBOX_MESSAGES=1): "
            f"{c} messages, account-change codes among them, are recorded in a table, never sent.",
            hint=f"When the pilot ends: {HOW.get(c, 'Name a real provider')}, and unset "
                 "DAOZHANG_PILOT_SANDBOX_MESSAGES.", id="daozhang.W013") for c in sandboxed]
    return [checks.Error(
        f"{VARIABLES.get(c, c)}: the sandbox {c} provider in production records messages instead of sending "
        "them; the codes that confirm a settlement-account change would never reach the merchant.",
        hint=f"{HOW.get(c, 'Name a real provider')}; for a "
             "pilot only, DAOZHANG_PILOT_SANDBOX_MESSAGES=1 allows the sandbox with a warning at every start.",
        id="daozhang.E013") for c in sandboxed]
