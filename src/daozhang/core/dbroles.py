"""Two PostgreSQL roles: the tables' owner, for migrations, and the application's role.

Why: a role that owns a table can TRUNCATE it, disable its triggers (`ALTER TABLE …
DISABLE TRIGGER`) or drop them, so while the application connected as the owner, the
triggers that keep the books and the audit log append-only were a convention. The
application now connects (DATABASE_URL) as a role that owns nothing and has:
- SELECT and INSERT only on the append-only tables (ledger entries and postings, the
  audit log: registered below by their apps);
- SELECT, INSERT, UPDATE, DELETE on every other table, and the use of the sequences;
- no TRUNCATE, no TRIGGER, no REFERENCES, no CREATE in the schema. Not being the owner, it
  cannot disable a trigger; not being a superuser, it cannot set session_replication_role.
The owner's URL (DAOZHANG_DATABASE_OWNER_URL, same server and database) is used by
`migrate` (core/management/commands/migrate.py), which then grants the application role
its rights (a post_migrate receiver, `grant_after_migrate`), and by the tests to create,
flush and tamper with their database (daozhang.testing.pytest_pg). docs/operations.md
has the set-up. Without an owner URL everything runs as DATABASE_URL's role, as before.
SQLite has no roles: there the triggers stop the application, not whoever has the file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

# Tables whose rows are never updated or deleted: the application role may only add and read.
APPEND_ONLY: set[str] = set()
_OWNER_KEYS = ("USER", "PASSWORD", "HOST", "PORT")


def append_only(*tables: str) -> None:
    """Declare tables append-only (from an AppConfig.ready())."""
    APPEND_ONLY.update(tables)


def owner_settings(conn: BaseDatabaseWrapper) -> dict[str, Any] | None:
    """The owner's credentials when they differ from the connection's own role."""
    owner = conn.settings_dict.get("OWNER")
    if not owner or conn.vendor != "postgresql":
        return None
    return {k: owner.get(k, conn.settings_dict.get(k)) for k in _OWNER_KEYS}


def app_role(conn: BaseDatabaseWrapper) -> str | None:
    """The application's role, when an owner is configured and it is another role."""
    owner = owner_settings(conn)
    if owner is None:
        return None
    app = conn.settings_dict.get("APP_USER") or conn.settings_dict.get("USER")
    return None if not app or app == owner["USER"] else str(app)


@contextlib.contextmanager
def as_owner(conn: BaseDatabaseWrapper) -> Iterator[None]:
    """Run the block on `conn` connected as the owner (reconnecting before and after).

    For whole commands (`migrate`, creating a test database): the connection must not be in
    a transaction. A no-op without an owner, or when already the owner.
    """
    owner = owner_settings(conn)
    if owner is None or conn.settings_dict.get("USER") == owner["USER"]:
        yield
        return
    if conn.in_atomic_block:
        raise RuntimeError("as_owner: the connection is inside a transaction")
    saved = {k: conn.settings_dict.get(k) for k in _OWNER_KEYS}
    conn.close()
    conn.settings_dict["APP_USER"] = saved["USER"]
    conn.settings_dict.update(owner)
    try:
        yield
    finally:
        conn.close()
        conn.settings_dict.update(saved)
        conn.settings_dict.pop("APP_USER", None)


def owner_connection(conn: BaseDatabaseWrapper) -> BaseDatabaseWrapper:
    """A separate connection to the same database as the owner (the caller closes it)."""
    owner = owner_settings(conn) or {}
    settings_dict = {**conn.settings_dict, **owner}
    settings_dict.pop("APP_USER", None)
    return conn.__class__(settings_dict, alias=f"{conn.alias}__owner")


def grant_statements(*, schema: str, app: str) -> list[str]:
    role, sch = _quote(app), _quote(schema)
    tables = ", ".join(_quote(t) for t in sorted(APPEND_ONLY))
    sql = [
        f"REVOKE CREATE ON SCHEMA {sch} FROM PUBLIC",  # PostgreSQL < 15 granted it to everyone
        f"REVOKE CREATE ON SCHEMA {sch} FROM {role}",
        f"GRANT USAGE ON SCHEMA {sch} TO {role}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {sch} FROM {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {sch} TO {role}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {sch} TO {role}",
        # The migration history is the owner's: the application may read it (runserver's check).
        f"REVOKE INSERT, UPDATE, DELETE ON django_migrations FROM {role}",
    ]
    if tables:
        sql.append(f"REVOKE UPDATE, DELETE ON {tables} FROM {role}")
    return sql


def grant(conn: BaseDatabaseWrapper) -> list[str]:
    """Give the application role its rights (run as the owner); returns the statements."""
    app = app_role(conn)
    if app is None:
        return []
    with conn.cursor() as cur:
        cur.execute("SELECT current_schema()")
        schema = cur.fetchone()[0]
        sql = grant_statements(schema=schema, app=app)
        for statement in sql:
            cur.execute(statement)
    return sql


def grant_after_migrate(sender: Any, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """post_migrate receiver: after `migrate` (as the owner), grant the application role.
    After a test flush (as the application role) there is nothing to do."""
    conn = connections[using]
    owner = owner_settings(conn)
    if owner is not None and conn.settings_dict.get("USER") == owner["USER"]:
        grant(conn)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
