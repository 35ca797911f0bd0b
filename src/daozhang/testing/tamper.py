"""Tampering with the test database as an attacker would: for tests of what the books and
the audit log show afterwards.

`tampering()` gives a DB-API cursor on its own connection, in autocommit, with the
rights of whoever can go around the application: on PostgreSQL the tables' owner (not the
application's role the suite runs as), on SQLite a plain `sqlite3` connection to the file
(foreign keys off, as the sqlite3 shell has them). The append-only tables' triggers are
lifted for the block (disabled by the owner; dropped from the file) and put back after it,
so the next test finds them. Use it from `transaction=True` tests: the data to tamper with
must be committed, and what the block does is.

SQL is written with `%s` placeholders on both databases; `db_id()` gives a uuid as the
database stores it.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection

from daozhang.core.dbroles import APPEND_ONLY, owner_settings


def db_id(value: uuid.UUID) -> Any:
    return value.hex if connection.vendor == "sqlite" else value


class Cursor:
    """The tamperer's cursor: `execute` with `%s` placeholders on either database."""

    def __init__(self, raw: Any, sqlite: bool) -> None:
        self.raw, self.sqlite = raw, sqlite

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        self.raw.execute(sql.replace("%s", "?") if self.sqlite else sql, list(params))
        return self

    def fetchall(self) -> list[Any]:
        return list(self.raw.fetchall())

    def fetchone(self) -> Any:
        return self.raw.fetchone()


@contextmanager
def tampering(lift_guards: bool = True) -> Iterator[Cursor]:
    if connection.vendor == "sqlite":
        raw = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None, timeout=30)
        try:
            cur = raw.cursor()
            triggers: list[tuple[str, str]] = []
            if lift_guards:
                marks = ",".join("?" * len(APPEND_ONLY))
                triggers = cur.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"  # noqa: S608
                                       f" AND tbl_name IN ({marks})", sorted(APPEND_ONLY)).fetchall()
                for name, _ in triggers:
                    cur.execute(f'DROP TRIGGER "{name}"')
            try:
                yield Cursor(cur, sqlite=True)
            finally:
                for _, sql in triggers:
                    cur.execute(sql)
        finally:
            raw.close()
        return
    import psycopg

    s = {**connection.settings_dict, **(owner_settings(connection) or {})}
    conninfo = {"host": s["HOST"], "port": s["PORT"], "user": s["USER"], "dbname": s["NAME"]}
    if s.get("PASSWORD"):
        conninfo["password"] = s["PASSWORD"]
    dsn = " ".join(f"{k}={v}" for k, v in conninfo.items() if v)
    with psycopg.connect(dsn, autocommit=True) as pg:
        pgcur = pg.cursor()
        tables = sorted(APPEND_ONLY) if lift_guards else []
        for t in tables:
            pgcur.execute(f'ALTER TABLE "{t}" DISABLE TRIGGER USER')
        try:
            yield Cursor(pgcur, sqlite=False)
        finally:
            for t in tables:
                pgcur.execute(f'ALTER TABLE "{t}" ENABLE TRIGGER USER')
