"""A lock per key, held across a call that must not sit inside a database transaction.

Why not a row: a claim row needs a commit of its own before the work starts, and the
online sale is allowed exactly one commit (decision 0011). Why not the transaction: a
channel call must not hold the database's locks (decision 0004). So the claim on an
Idempotency-Key is a lock the database server or the operating system keeps for us:

* PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a 64-bit hash of the
  key, taken on the connection that will book the change. Every app server sharing the
  database sees it; if the process dies, the server drops the session and the lock.
* SQLite (one machine by construction): a POSIX record lock on one byte of a lock file
  beside the database, so processes (gunicorn workers, the worker, the CLI) exclude each
  other, plus an in-process set, because POSIX locks are per process, not per thread.
  The kernel drops the lock when the process dies.

A crash therefore never leaves a claim behind. Two different keys that hash alike only
wait for each other (2^-64 for PostgreSQL, 2^-31 per pair for the SQLite byte range).
Taking a lock is a try with a short poll: a request under a key still in progress waits
up to `IDEMPOTENCY_WAIT_SECONDS` for the first to finish, and is then told to retry.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection

from daozhang.core.db import execute_server_bound


def key_hash(text: str) -> int:
    """A signed 64-bit number for `text` (PostgreSQL's advisory lock key type)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


class _FileLocks:
    """Per-process byte-range locks on one file, usable from many threads."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held: set[int] = set()
        self._fd: int | None = None
        self._pid = 0
        self._path: Path | None = None

    def _file(self, path: Path) -> int:
        # POSIX locks belong to the process and vanish when ANY descriptor of the file is
        # closed, so the file is opened once per process and never closed while in use.
        if self._fd is None or self._pid != os.getpid() or self._path != path:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid, self._path, self._held = os.getpid(), path, set()
        return self._fd

    def try_lock(self, path: Path, offset: int) -> bool:
        with self._guard:
            fd = self._file(path)
            if offset in self._held:
                return False
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
            except OSError:
                return False
            self._held.add(offset)
            return True

    def unlock(self, path: Path, offset: int) -> None:
        with self._guard:
            fd = self._file(path)
            if offset in self._held:
                fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)
                self._held.discard(offset)


_files = _FileLocks()


def _sqlite_lock_file() -> Path:
    name = str(connection.settings_dict["NAME"])
    if name in ("", ":memory:") or name.startswith("file:"):
        return Path(settings.VAR_DIR) / "daozhang.locks"
    return Path(name + ".locks")


class Busy(Exception):
    """The key is held by another request that has not finished."""


class Hold:
    """A lock being held. On PostgreSQL it can be handed over to the statement that books
    the change, which then releases it at its own commit (no round trip of its own)."""

    def __init__(self, k: int) -> None:
        self.k, self.vendor = k, connection.vendor
        self.released = False

    def release_at_commit(self) -> tuple[str, list[Any]] | None:
        """A row source for an INSERT's FROM (`SELECT … FROM <this>`) that moves the lock from
        the session to the transaction: taken again at transaction level (a holder may), then
        let go at session level, so it ends when the booking commits, not before: whoever
        waits for it then sees what was booked. Call `released_by_statement()` once the
        statement has run. None where the lock is not the database's (SQLite)."""
        if self.vendor != "postgresql":
            return None
        # OFFSET 0 keeps each level a subquery of its own: the transaction lock is taken
        # before the session lock is let go.
        return ("(SELECT pg_advisory_unlock(%s) AS freed FROM (SELECT pg_advisory_xact_lock(%s) OFFSET 0)"
                " AS taken OFFSET 0) AS handed_over", [self.k, self.k])

    def released_by_statement(self) -> None:
        self.released = True

    def release(self) -> None:
        """Let go (once; a no-op after the booking statement took it over)."""
        if self.released:
            return
        self.released = True
        if self.vendor == "postgresql":
            # The session may be gone (a dropped connection): its locks went with it.
            with contextlib.suppress(Exception):
                execute_server_bound("SELECT pg_advisory_unlock(%s)", [self.k], prepare=True)
        else:
            _files.unlock(_sqlite_lock_file(), _offset(self.k))


T = TypeVar("T")


def acquire(name: str, attempt: Callable[[int], tuple[bool, T]], *, wait: float | None = None) -> tuple[Hold, T]:
    """Take the lock named `name` by `attempt(k)`, which tries it (without waiting) and
    returns (taken, whatever else it read); tried again with a growing pause until taken
    or `wait` seconds (default `settings.IDEMPOTENCY_WAIT_SECONDS`) have passed: `Busy`.

    A caller may try the lock inside a query it makes anyway (on PostgreSQL, a volatile
    function that tries it and then reads with a fresh snapshot, `daozhang_claim`)."""
    k = key_hash(name)
    deadline = time.monotonic() + (settings.IDEMPOTENCY_WAIT_SECONDS if wait is None else wait)
    pause = 0.005
    while True:
        taken, value = attempt(k)
        if taken:
            return Hold(k), value
        if time.monotonic() >= deadline:
            raise Busy(name)
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _offset(k: int) -> int:
    return k % (2**31 - 1)


def _try(k: int) -> tuple[bool, None]:
    if connection.vendor == "postgresql":
        return bool(execute_server_bound("SELECT pg_try_advisory_lock(%s)", [k], prepare=True)[0][0]), None
    return _files.try_lock(_sqlite_lock_file(), _offset(k)), None


@contextlib.contextmanager
def held(name: str, *, wait: float | None = None) -> Iterator[Hold]:
    """Hold the lock named `name` for the block; raise `Busy` if another holder keeps it
    longer than `wait` seconds (default `settings.IDEMPOTENCY_WAIT_SECONDS`)."""
    hold, _ = acquire(name, _try, wait=wait)
    try:
        yield hold
    finally:
        hold.release()
