"""Database helpers shared by the set-based writers (ledger, imports, settlement)."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Sequence
from typing import Any

from django.db import connection


def execute_server_bound(sql: str, params: Sequence[Any], *, prepare: bool = False) -> list[tuple[Any, ...]]:
    """PostgreSQL: one statement with server-side parameter binding; returns its rows.

    Django's cursors bind client-side (parameters rendered into the SQL text); for arrays
    of thousands of values, sending them apart in psycopg's binary format (%b) costs both
    sides much less. Same connection and transaction as the ORM; errors become Django's;
    logged in `connection.queries` when Django logs queries (DEBUG, tests), so round trips
    can be counted; passed through the connection's execute wrappers as Django's cursors
    are (`connection.execute_wrapper`: the tests' check of the SQL sent, issue 12).

    `prepare=True` is for the few fixed statements of the online path, run once per
    request: PostgreSQL then parses and plans each once per connection instead of every
    time (measured: 0.3 ms less per sale for the write, 0.15 ms for the look-up). That needs
    a connection that stays the same session, which the deployment already requires
    (docs/operations.md: PgBouncer in session mode). Batch statements are not prepared:
    each runs once per batch with its own sizes.
    """
    import psycopg

    connection.ensure_connection()
    start = time.monotonic()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cur:
        def execute(sql: str, params: Any, many: bool, context: dict[str, Any]) -> None:
            cur.execute(sql, params, prepare=prepare)

        for wrapper in reversed(connection.execute_wrappers):
            execute = functools.partial(wrapper, execute)
        execute(sql, params, False, {"connection": connection, "cursor": cur})
        rows = cur.fetchall() if cur.description else []
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - start:.3f}"})
    return rows


def execute_pipelined(statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
    """PostgreSQL: many short statements in one round trip (psycopg's pipeline mode), each
    text prepared once per connection; their rows are not read.

    For a job that must send one statement per merchant (a row lock names one shard on a
    database distributed by merchant, `core.keyed.lock_in_merchant_order`): sent one by
    one they cost a round trip each, sent as one text they are parsed and planned each
    time; pipelined and prepared, each costs about its execution. Same connection and
    transaction as the ORM; each statement passes the connection's execute wrappers."""
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline(), \
            psycopg.Cursor(connection.connection) as cur:
        def execute(sql: str, params: Any, many: bool, context: dict[str, Any]) -> None:
            cur.execute(sql, params, prepare=True)

        for wrapper in reversed(connection.execute_wrappers):
            execute = functools.partial(wrapper, execute)
        for sql, params in statements:
            execute(sql, params, False, {"connection": connection, "cursor": cur})


def run(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """One statement with named parameters (`%(name)s`) on either database; returns its rows.

    PostgreSQL binds server-side (`execute_server_bound`), so a statement may also carry
    binary arrays (`%(name)b`, as `rows_source` writes them); SQLite runs it through
    Django's cursor. Both share the caller's transaction.
    """
    if connection.vendor == "postgresql":
        return execute_server_bound(sql, params)  # type: ignore[arg-type]  # psycopg takes a mapping too
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def rows_source(name: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]],
                params: dict[str, Any]) -> str:
    """A table of literal rows, sent as parameters, to use after FROM: `<sql> AS name(columns)`.

    Why: a set-based statement often needs a few thousand rows from this process (the
    merchants of a chunk and their account ids). PostgreSQL gets one binary array per
    column (`unnest`); SQLite one JSON text (`json_each`), read in process. The values
    are already in the database's form (`connection.ops` adapters; SQLite's uuids as hex).
    Adds its parameters to `params` under `name_<column>` keys.

    Join it first (`FROM <rows> CROSS JOIN …`): SQLite otherwise may put the JSON table on
    the inner side of a loop and parse it again for every outer row (measured: a
    settlement chunk took 0.57 s instead of 0.03 s).
    """
    if connection.vendor == "postgresql":
        cols = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
        for (col, _), values in zip(columns, cols, strict=True):
            params[f"{name}_{col}"] = list(values)
        arrays = ", ".join(f"%({name}_{col})b::{type_}[]" for col, type_ in columns)
        return f"unnest({arrays}) AS {name}({', '.join(col for col, _ in columns)})"
    import json

    params[f"{name}_json"] = json.dumps([list(r) for r in rows], default=str, separators=(",", ":"))
    picks = ", ".join(f"json_extract(value, '$[{i}]') AS {col}" for i, (col, _) in enumerate(columns))
    return f"(SELECT {picks} FROM json_each(%({name}_json)s)) AS {name}"  # noqa: S608 - names from the caller


_SQLITE_TYPES = {"uuid": "char(32)", "text": "text", "date": "date", "bigint": "bigint", "integer": "integer",
                 "smallint": "smallint"}


def fresh_temp_table(name: str, columns: Sequence[tuple[str, str]]) -> None:
    """An empty temporary table of this connection: a set-based job's scratch space.

    Why a table rather than one long statement: SQLite has no data-modifying CTEs, and
    the steps of a job (the batches, their entries, their postings) must agree on ids
    generated once. A temporary table is private to the connection (each writer thread
    has its own), is not WAL-logged on PostgreSQL, and vanishes with the connection.
    """
    pg = connection.vendor == "postgresql"
    cols = ", ".join(f"{col} {type_ if pg else _SQLITE_TYPES[type_]}" for col, type_ in columns)
    with connection.cursor() as cur:
        cur.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ({cols})")
        cur.execute(f"DELETE FROM {name}")  # noqa: S608 - a constant name


def _sqlite_path(settings_dict: Any) -> str | None:
    name = str(settings_dict.get("NAME") or "")
    if settings_dict.get("ENGINE") != "django.db.backends.sqlite3" or not name or name == ":memory:" \
            or name.startswith("file:"):
        return None
    return name


def create_private_sqlite_file() -> None:
    """Create the embedded database file readable by its owner only (0600) before SQLite
    creates it with the umask's mode (usually world-readable): the file holds the books,
    the audit trail and personal data. Its -wal and -shm files take the file's mode."""
    import os

    from django.conf import settings

    path = _sqlite_path(settings.DATABASES["default"])
    if path and not os.path.exists(path) and os.path.isdir(os.path.dirname(path) or "."):
        # Another process may make it first: private_sqlite_files() then fixes its mode.
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def private_sqlite_files(sender: Any, connection: Any, **kwargs: Any) -> None:
    """On each new SQLite connection: the database file and its -wal/-shm/-journal 0600
    (a file made by an older version, by the test runner, or restored from a backup)."""
    import os
    import stat

    path = _sqlite_path(connection.settings_dict)
    if not path:
        return
    for name in (path, f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        # Missing (no -journal in WAL mode), or not ours (a shared read-only file): leave it.
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if stat.S_IMODE(os.stat(name).st_mode) & 0o077:
                os.chmod(name, 0o600)
