"""A throw-away PostgreSQL server for tests and benchmarks.

Started from the PostgreSQL 15 server binaries on the machine, in a temporary directory,
on a free loopback port; as root it runs as the `postgres` user (PostgreSQL refuses
root). `durable=False` turns fsync off: right for tests, wrong for benchmarks of commit
paths, which keep it on and say so.

`url` is the superuser's (benchmarks). `create_roles()` adds the two roles a production
deployment has (docs/operations.md): `owner_url`, the tables' owner (migrations, the test
database's creation and flushes), and `app_url`, the application's role, which the test
suite runs as: it may only add and read ledger and audit rows (core.dbroles).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

OWNER_ROLE = "daozhang_owner"
APP_ROLE = "daozhang_app"
BIN_DIRS = [Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin")]


def find_bin() -> Path:
    for d in BIN_DIRS:
        if (d / "initdb").exists():
            return d
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError("PostgreSQL server binaries not found: apt-get install -y postgresql-15")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    root: Path
    port: int
    bin: Path

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def owner_url(self) -> str:
        return f"postgres://{OWNER_ROLE}@127.0.0.1:{self.port}/postgres"

    @property
    def app_url(self) -> str:
        return f"postgres://{APP_ROLE}@127.0.0.1:{self.port}/postgres"

    def create_roles(self) -> None:
        """The owner (may create databases: the test database is its own) and the
        application's role (nothing but log in; `migrate` grants it its rights)."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {OWNER_ROLE} LOGIN CREATEDB NOSUPERUSER NOCREATEROLE")
            conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")

    def _run(self, *cmd: str) -> None:
        prefix: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *cmd], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start(durable: bool = False, extra: tuple[str, ...] = ()) -> PgServer:
    bindir = find_bin()
    root = Path(tempfile.mkdtemp(prefix="daozhang-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    server = PgServer(root, _free_port(), bindir)
    server._run(str(bindir / "initdb"), "-D", str(root / "data"), "-A", "trust", "-U", "postgres",
                "-E", "UTF8", "--locale=C")
    opts = [f"-k {root}", "-c listen_addresses=127.0.0.1", "-c max_connections=200", "-c shared_buffers=256MB"]
    if not durable:
        opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
    opts += list(extra)
    # The free port is only free when asked: another process (a second test pass started
    # beside this one, a live server) may take it before the server binds it; then once
    # more on another port.
    for attempt in range(3):
        try:
            server._run(str(bindir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log"), "-w",
                        "-o", " ".join([f"-p {server.port}", *opts]), "start")
            return server
        except subprocess.CalledProcessError:
            log = root / "log"
            if attempt == 2 or "could not bind" not in (log.read_text(errors="replace") if log.exists() else ""):
                shutil.rmtree(root, ignore_errors=True)
                raise
            server.port = _free_port()
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running(durable: bool = False) -> Iterator[PgServer]:
    server = start(durable=durable)
    try:
        yield server
    finally:
        server.stop()
