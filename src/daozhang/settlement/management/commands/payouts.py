"""`daozhang payouts run` / `daozhang payouts import FILE`: pay batches, load bank result files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from daozhang.core.cli_args import business_date
from daozhang.core.progress import tracked
from daozhang.settlement.payout_files import ResultFileRefused, import_results
from daozhang.settlement.payouts import run_payouts


class Command(BaseCommand):
    help = "Payouts: `payouts run [--date D]`, `payouts import FILE` (format in docs/formats.md)"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="submit due payouts, retry, and collect the bank's answers")
        run.add_argument("--date", type=business_date, default=None,
                         help="pay batches due up to this date, YYYY-MM-DD (default: today)")
        run.add_argument("--quiet", action="store_true", help="no progress bar")
        imp = sub.add_parser("import", help="load a bank payout result file")
        imp.add_argument("file", type=Path, help="the bank's result file (docs/formats.md)")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "run":
            with tracked("payouts.run", "payouts", None, not opts["quiet"]) as advance:
                r = run_payouts(opts["date"], progress=advance)
            self.stdout.write(f"payouts: {r.submitted} submitted, {r.paid} paid, {r.returned} returned, "
                              f"{r.retrying} waiting to retry (bank unavailable), {r.waiting} awaiting the bank")
            return
        path: Path = opts["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path} / 文件不存在")
        try:
            r2 = import_results(path.read_bytes())
        except ResultFileRefused as exc:
            for err in exc.errors:
                self.stderr.write(err)
            raise CommandError(f"{len(exc.errors)} bad rows; nothing was imported / 文件有错误，未导入") from exc
        self.stdout.write(f"payout results: {r2['paid']} paid, {r2['returned']} returned, "
                          f"{r2['unchanged']} already recorded")
