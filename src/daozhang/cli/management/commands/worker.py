"""`daozhang worker`: run queued jobs and the periodic-job scheduler.

Start as many as the load needs, on as many machines as share the database: jobs are
claimed with row locks by django-tasks-db, periodic slots with a unique key.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from daozhang.core.scheduler import run_forever


class Command(BaseCommand):
    help = "Run background jobs and the periodic scheduler"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between queue polls")
        parser.add_argument("--no-scheduler", action="store_true", help="only run queued jobs")

    def handle(self, *args: Any, **opts: Any) -> None:
        stop = threading.Event()
        if not opts["no_scheduler"]:
            threading.Thread(target=run_forever, args=(stop,), daemon=True, name="scheduler").start()
        try:
            call_command("db_worker", interval=opts["interval"], queue_name="*", no_startup_delay=True)
        finally:
            stop.set()
