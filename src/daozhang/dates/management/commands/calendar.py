"""`daozhang calendar load FILE` / `calendar show YEAR`: the working-day calendar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from daozhang.core.alerts import resolve_alert
from daozhang.core.cli_args import year
from daozhang.core.errors import DomainError
from daozhang.dates.calendar import CalendarGap, is_working_day, load_schedule


class Command(BaseCommand):
    help = "Working-day calendar: `calendar load FILE` (format in docs/formats.md), `calendar show YEAR`"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="load an official schedule file")
        load.add_argument("file", type=Path, help="the schedule file (docs/formats.md)")
        load.add_argument("--force", action="store_true",
                          help="load a year that cannot be a whole official year (audited)")
        show = sub.add_parser("show", help="list the non-working days of a year")
        show.add_argument("year", type=year, help="the year, e.g. 2026")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "load":
            path: Path = opts["file"]
            if not path.is_file():
                raise CommandError(f"no such file: {path} / 文件不存在")
            try:
                result = load_schedule(path.read_bytes(), file_name=path.name, actor="cli", force=opts["force"])
            except DomainError as exc:
                raise CommandError(f"{exc.message('en')} / {exc.message('zh')}") from exc
            for year in result.years:
                resolve_alert("calendar_gap", str(year))
            self.stdout.write(f"loaded {', '.join(map(str, result.years))}: {result.holidays} holidays, "
                              f"{result.workdays} make-up working days")
            return
        year = opts["year"]
        day = dt.date(year, 1, 1)
        try:
            while day.year == year:
                working = is_working_day(day)
                if working == (day.weekday() >= 5):
                    self.stdout.write(f"{day} {day:%a} {'working (调休)' if working else 'closed'}")
                day += dt.timedelta(days=1)
        except CalendarGap as exc:
            raise CommandError(f"{exc.message('en')} / {exc.message('zh')}") from exc
