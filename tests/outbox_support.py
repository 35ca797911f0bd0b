"""Providers and an SMTP server for the outbox and notification tests (also imported by the
worker processes those tests start, through DAOZHANG_SMS_PROVIDER)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from daozhang.notifications.providers import Message, ProviderError, SandboxSms

T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)


def worker_process(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "daozhang.cli", "worker", "--interval", "0.2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until(check: Any, proc: subprocess.Popen[bytes] | None = None, bound: float = 120) -> bool:
    """Poll until `check()` (a generous bound for a slow machine, not a speed check)."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if check():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def stop_process(proc: subprocess.Popen[bytes]) -> str:
    if proc.poll() is None:
        proc.terminate()
    return proc.communicate(timeout=60)[1].decode(errors="replace")[-3000:]


def outbox_env(child_env: dict[str, str]) -> dict[str, str]:
    """A worker's environment with short leases and sweeps, and the SMS provider that can block."""
    return {**child_env, "DAOZHANG_OUTBOX_LEASE_SECONDS": "2", "DAOZHANG_OUTBOX_SWEEP_SECONDS": "1",
            "DAOZHANG_SMS_PROVIDER": "tests.outbox_support.BlockingSms"}


class BlockingSms(SandboxSms):
    """The sandbox SMS, except that with DAOZHANG_TEST_BLOCK_DIR set it says so (a file
    there) and then never returns: the worker is inside the delivery when it is killed."""

    def send(self, message: Message) -> str:
        where = os.environ.get("DAOZHANG_TEST_BLOCK_DIR")
        if where:
            (Path(where) / "sending").write_text(message.idempotency_key)
            while True:
                time.sleep(60)
        return super().send(message)


class FlakySms(SandboxSms):
    """Refuses the first `failures` messages (class attribute, set by the test), then sends."""

    failures = 0
    calls = 0

    def send(self, message: Message) -> str:
        type(self).calls += 1
        if type(self).calls <= type(self).failures:
            raise ProviderError("gateway unavailable (test)")
        return super().send(message)


class Inbox:
    """aiosmtpd handler: keeps every message it accepted (answered 250). With `hold` set,
    the next DATA is neither accepted nor refused until `hold` is cleared; then it is
    refused (451), as a server does when the client went away: that message was never
    delivered."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.hold = threading.Event()
        self.holding = threading.Event()  # set while a DATA is held

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hold.is_set():
            self.holding.set()
            while self.hold.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 try again later"
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 OK"


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        with socket.socket() as s:  # a free port (aiosmtpd's Controller wants a fixed one)
            s.bind(("127.0.0.1", 0))
            self._port = int(s.getsockname()[1])
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self._port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.inbox.hold.clear()
        self.controller.stop()

    @property
    def port(self) -> int:
        return self._port

    def env(self) -> dict[str, str]:
        """Settings for a child process that sends e-mail here."""
        return {"DAOZHANG_SMTP_HOST": "127.0.0.1", "DAOZHANG_SMTP_PORT": str(self.port),
                "DAOZHANG_SMTP_STARTTLS": "0", "DAOZHANG_SMTP_TIMEOUT": "60",
                "DAOZHANG_MAIL_FROM": "daozhang <noreply@daozhang.test>"}

    def settings(self, settings: Any) -> None:
        """The same for this process (pytest-django's `settings` fixture)."""
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", self.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.DEFAULT_FROM_EMAIL = "daozhang <noreply@daozhang.test>"
        settings.NOTIFY_PROVIDERS = {**settings.NOTIFY_PROVIDERS,
                                     "email": "daozhang.notifications.providers.SmtpEmail"}
