"""`daozhang demo`: load demo data (safe to run again) and print the logins."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from daozhang import demo


class Command(BaseCommand):
    help = "Load demo merchants, terminals, staff and four weeks of payments (idempotent)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=28, help="days of past payments to make (default 28)")

    def handle(self, *args: Any, **opts: Any) -> None:
        creds = demo.load(days=opts["days"], say=self.stdout.write)
        self.stdout.write("\nDemo logins and keys:")
        for label, value in creds.items():
            self.stdout.write(f"  {label}: {value}")
