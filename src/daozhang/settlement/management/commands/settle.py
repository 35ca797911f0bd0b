"""`daozhang settle --date D`: build the settlement batches of a day (safe to run again)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from daozhang.core.cli_args import business_date
from daozhang.core.errors import DomainError
from daozhang.core.money import Money
from daozhang.core.progress import tracked
from daozhang.settlement.runs import run_settlement


class Command(BaseCommand):
    help = "Settle a business date: one batch per merchant (T+1 and D0)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=business_date, required=True,
                            help="the business date to settle, YYYY-MM-DD (its cut-off must have passed)")
        parser.add_argument("--cycle", choices=["T1", "D0", "all"], default="all",
                            help="settle only merchants on this cycle (default: both)")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **opts: Any) -> None:
        day: dt.date = opts["date"]
        cycles = ("T1", "D0") if opts["cycle"] == "all" else (opts["cycle"],)
        try:
            with tracked("settlement.run", f"settle {day} {'+'.join(cycles)}", None, not opts["quiet"]) as adv:
                r = run_settlement(day, cycles=cycles, progress=adv)
        except DomainError as exc:
            raise CommandError(f"{exc.message('en')}\n{exc.message('zh')}") from exc
        self.stdout.write(
            f"settled {day}: {r.batches} new batches ({r.due} due, {r.held} held, {r.carried} carried forward), "
            f"{r.skipped_existing} already settled; net to pay {Money(r.total_net).display()}")
