"""`daozhang demo`: load demo data (safe to run again) and print the logins."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.management.base import BaseCommand, CommandParser

from daozhang import demo
from daozhang.core.checks import TAG
from daozhang.core.mode import is_production


# Registered when this command is loaded, so it runs with this command's checks, before
# anything is written: the demo's superuser, passwords and API keys are public.
@checks.register(TAG)
def demo_refused_in_production(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if not is_production():
        return []
    return [checks.Error("daozhang demo: refused in production; its staff logins, passwords and API keys are public.",
                         hint="Run the demo on a development machine: DAOZHANG_MODE=development daozhang demo.",
                         id="daozhang.E020")]


class Command(BaseCommand):
    help = "Load demo merchants, terminals, staff and four weeks of payments (idempotent)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=28, help="days of past payments to make (default 28)")

    def handle(self, *args: Any, **opts: Any) -> None:
        creds = demo.load(days=opts["days"], say=self.stdout.write)
        self.stdout.write("\nDemo logins and keys:")
        for label, value in creds.items():
            self.stdout.write(f"  {label}: {value}")
