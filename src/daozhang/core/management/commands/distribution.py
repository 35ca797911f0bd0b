"""`daozhang distribution check | sql`: can this PostgreSQL schema be distributed by
merchant (Citus), and the commands that do it (core/distribution.py; docs/operations.md
"Scaling out")."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from daozhang.core import distribution


class Command(BaseCommand):
    help = "Distribution by merchant (Citus): `distribution check` lists rule breaches, `distribution sql` the commands"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{check,sql}")
        sub.add_parser("check", help="read the live catalog; list every table, key, foreign key or trigger that "
                                     "breaks the rules (exit 1 if any)")
        sub.add_parser("sql", help="print the Citus commands that distribute the schema (reference tables, then "
                                   "merchant tables colocated by merchant_id), to run on the coordinator")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("distribution: PostgreSQL only (SQLite is one machine) / 仅适用于 PostgreSQL")
        with connection.cursor() as cur:
            if options["action"] == "sql":
                self.stdout.write("\n".join(distribution.citus_statements(cur)))
                return
            found = distribution.check(cur)
        for f in found:
            self.stdout.write(str(f))
        if found:
            n = len(found)
            raise CommandError(f"{n} breaches of the distribution rules / 不符合按商户分布规则 {n} 处")
        self.stdout.write("the schema can be distributed by merchant / 可按商户分布")
