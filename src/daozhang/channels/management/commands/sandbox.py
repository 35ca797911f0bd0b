"""`daozhang sandbox outage CHANNEL on|off`: inject or clear a sandbox channel outage."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from daozhang.channels.base import CHANNELS
from daozhang.channels.sandbox import set_outage


class Command(BaseCommand):
    help = "Switch sandbox faults: `sandbox outage wechat on`"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("fault", choices=["outage"], help="the fault to switch")
        parser.add_argument("channel", choices=[*CHANNELS, "bank"], help="the sandbox channel or the bank")
        parser.add_argument("state", choices=["on", "off"], help="on: every call fails as in an outage")

    def handle(self, *args: Any, **opts: Any) -> None:
        set_outage(opts["channel"], opts["state"] == "on")
        self.stdout.write(f"sandbox {opts['channel']} outage {opts['state']}")
