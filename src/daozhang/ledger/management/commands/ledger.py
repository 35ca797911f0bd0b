"""`daozhang ledger check`: recompute every balance and verify every entry balances."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from daozhang.ledger.selectors import check_ledger


class Command(BaseCommand):
    help = "Ledger tools: `ledger check`"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["check"],
                            help="check: every entry balances, every balance equals its postings")
        parser.add_argument("--limit", type=int, default=100, help="offenders listed at most")

    def handle(self, *args: Any, **opts: Any) -> None:
        result = check_ledger(limit=opts["limit"])
        for entry_id, total, n in result.unbalanced_entries:
            self.stderr.write(f"unbalanced entry {entry_id}: sum {total} over {n} postings")
        for code, stored, recomputed in result.wrong_balances:
            self.stderr.write(f"account {code}: stored balance {stored}, postings sum {recomputed}")
        if not result.ok:
            raise CommandError(result.summary())
        self.stdout.write(result.summary())
