"""`daozhang ledger check`: recompute every balance, verify every entry balances, and run
every registered consistency check (ledger.checks): orphan postings, the sum of all
postings, and each flow's business rows against their entries."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from daozhang.ledger.selectors import check_ledger


class Command(BaseCommand):
    help = "Ledger tools: `ledger check`"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["check"],
                            help="check: every entry balances, every balance equals its postings, and every"
                                 " registered consistency check (orphan postings, the global sum, business rows"
                                 " against their entries: ledger.checks) finds nothing")
        parser.add_argument("--limit", type=int, default=100, help="offenders listed at most")

    def handle(self, *args: Any, **opts: Any) -> None:
        result = check_ledger(limit=opts["limit"])
        for entry_id, total, n in result.unbalanced_entries:
            self.stderr.write(f"unbalanced entry {entry_id}: sum {total} over {n} postings")
        for code, stored, recomputed in result.wrong_balances:
            self.stderr.write(f"account {code}: stored balance {stored}, postings sum {recomputed}")
        for finding in result.findings:
            self.stderr.write(str(finding))
        if not result.ok:
            raise CommandError(result.summary())
        self.stdout.write(result.summary())
