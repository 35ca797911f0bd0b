"""`daozhang serve`: the HTTP server (gunicorn, threads), optionally with a worker beside it."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from daozhang.wsgi import application

        return application


class Command(BaseCommand):
    help = "Serve the web portal and the API"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("DAOZHANG_HOST", "127.0.0.1"),
                            help="address to listen on (DAOZHANG_HOST, default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=int(os.environ.get("DAOZHANG_PORT", "8000")),
                            help="port (DAOZHANG_PORT, default 8000)")
        parser.add_argument("--workers", type=int, default=int(os.environ.get("DAOZHANG_WEB_WORKERS", "2")),
                            help="gunicorn processes (DAOZHANG_WEB_WORKERS, default 2)")
        parser.add_argument("--threads", type=int, default=int(os.environ.get("DAOZHANG_WEB_THREADS", "8")),
                            help="threads per process (DAOZHANG_WEB_THREADS, default 8)")
        parser.add_argument("--with-worker", action="store_true",
                            help="also run `daozhang worker` as a child process (the embedded default)")

    def handle(self, *args: Any, **opts: Any) -> None:
        child = None
        if opts["with_worker"]:
            child = subprocess.Popen([sys.executable, "-m", "daozhang.cli", "worker"])
        self.stdout.write(f"daozhang on http://{opts['host']}:{opts['port']}/ (Ctrl-C stops)")
        try:
            _Gunicorn({
                "bind": f"{opts['host']}:{opts['port']}", "workers": opts["workers"],
                "threads": opts["threads"], "worker_class": "gthread", "accesslog": "-",
                "timeout": 60,
            }).run()
        finally:
            if child is not None:
                child.terminate()
                child.wait(timeout=10)
