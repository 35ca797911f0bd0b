"""`daozhang audit verify`: recompute every audit hash chain; exit 1 naming the first broken
link of each chain."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from daozhang.audit.verify import total_events, verify_chains
from daozhang.core.progress import tracked


class Command(BaseCommand):
    help = "Audit log tools: `audit verify` (every row's hash and its link to the one before)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"],
                            help="verify: recompute each chain (per merchant, and the platform's)")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **opts: Any) -> None:
        with tracked("audit.verify", "audit verify", total_events(), not opts["quiet"]) as advance:
            result = verify_chains(progress=advance)
        for b in result.breaks:
            self.stderr.write(str(b))
        if not result.ok:
            raise CommandError(result.summary())
        self.stdout.write(result.summary())
