"""System checks of the outside parties: no sandbox in production (core/checks.py says how
checks stop a process).

The sandbox bank "pays" every payout into a table, and the sandbox channels approve sales
no network saw: in production either would book money that never moved. A pilot may run
the sandbox payment channels (DAOZHANG_PILOT_SANDBOX_CHANNELS=1) with a warning at every
start; the sandbox bank never.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core import checks

from daozhang.core.checks import TAG
from daozhang.core.mode import is_production

SANDBOX_MODULES = ("daozhang.channels.sandbox.", "daozhang.channels.sandbox_bank.")
CHANNEL_VARIABLES = {"card": "DAOZHANG_CHANNEL_CARD", "wechat": "DAOZHANG_CHANNEL_WECHAT",
                     "alipay": "DAOZHANG_CHANNEL_ALIPAY"}
FILE_BANK = "daozhang.channels.file_bank.FileBank"


def is_sandbox(class_path: str) -> bool:
    return class_path.startswith(SANDBOX_MODULES)


@checks.register(TAG)
def check_bank(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    out: list[checks.CheckMessage] = []
    bank = str(settings.BANK_BACKEND)
    if is_production() and is_sandbox(bank):
        out.append(checks.Error(
            "DAOZHANG_BANK: the sandbox bank in production would mark payouts paid that no bank made.",
            hint=f"Set DAOZHANG_BANK={FILE_BANK} and DAOZHANG_BANK_OUTBOX=/a/directory/the/bank/transfer/reads "
                 "(docs/operations.md#the-file-bank), or name your bank's adapter.",
            id="daozhang.E010"))
    if bank == FILE_BANK:
        for variable, path in (("DAOZHANG_BANK_OUTBOX", settings.BANK_OUTBOX_DIR),
                               ("DAOZHANG_BANK_SENT_DIR", settings.BANK_SENT_DIR)):
            if not path:
                out.append(checks.Error(f"{variable}: not set; the file bank writes payout request files there.",
                                        hint=f"Set {variable} to a directory (docs/operations.md#the-file-bank).",
                                        id="daozhang.E012"))
            elif not (os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)):
                out.append(checks.Error(f"{variable}: {path} is not a directory this process can write.",
                                        hint=f"Create it: mkdir -p {path} (owned by the service user, mode 0700).",
                                        id="daozhang.E012"))
    return out


@checks.register(TAG)
def check_channels(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if not is_production():
        return []
    sandboxed = [name for name, path in settings.CHANNEL_BACKENDS.items() if is_sandbox(str(path))]
    if not sandboxed:
        return []
    if getattr(settings, "PILOT_SANDBOX_CHANNELS", False):
        return [checks.Warning(
            f"Pilot: the sandbox payment channels answer for {', '.join(sandboxed)} in production "
            "(DAOZHANG_PILOT_SANDBOX_CHANNELS=1); their sales never reached a network.",
            hint="Name a real adapter (" + ", ".join(CHANNEL_VARIABLES[n] for n in sandboxed if n in CHANNEL_VARIABLES)
                 + ") and unset DAOZHANG_PILOT_SANDBOX_CHANNELS when the pilot ends.",
            id="daozhang.W011")]
    return [checks.Error(
        f"{CHANNEL_VARIABLES.get(name, 'CHANNEL_BACKENDS')}: the sandbox {name} channel in production approves "
        "sales no network saw.",
        hint=f"Name the {name} network's adapter in {CHANNEL_VARIABLES.get(name, 'CHANNEL_BACKENDS')}; for a pilot "
             "only, DAOZHANG_PILOT_SANDBOX_CHANNELS=1 allows the sandbox with a warning at every start.",
        id="daozhang.E011") for name in sandboxed]
