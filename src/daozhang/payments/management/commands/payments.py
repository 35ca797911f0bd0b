"""`daozhang payments import FILE`: bulk-load approved sales (format in docs/formats.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from daozhang.payments.importer import ImportRefused, import_file


class Command(BaseCommand):
    help = "Payments batch tools: `payments import FILE.csv`"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["import"], help="import: load sales from a CSV file")
        parser.add_argument("file", type=Path, help="the CSV file (docs/formats.md); safe to import twice")
        parser.add_argument("--batch-size", type=int, default=1000, help="rows per transaction (default 1000)")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **opts: Any) -> None:
        path: Path = opts["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path} / 文件不存在")
        try:
            total, written = import_file(path, batch_size=opts["batch_size"], show_progress=not opts["quiet"])
        except ImportRefused as exc:
            for err in exc.errors:
                self.stderr.write(str(err))
            raise CommandError(f"{exc} / 文件有错误，未导入任何记录") from exc
        self.stdout.write(f"imported {written} new payments of {total} rows ({total - written} already booked)")
