"""pytest plugin: development mode; with DAOZHANG_TEST_DB=postgres, run the suite on a throw-away server;
otherwise keep the SQLite test database in a temporary file that child processes can open.

Loaded with `-p daozhang.testing.pytest_pg` so it runs before pytest-django reads the
settings: the server is started and DATABASE_URL set at import, and stopped when pytest
ends, on failure too.

On the throw-away server the suite runs as production does (docs/operations.md): the
tests and every process they start connect as the application's role (DATABASE_URL),
which may only add and read ledger entries, postings and audit rows; the test database is
created, migrated and destroyed as the owner role (DAOZHANG_DATABASE_OWNER_URL).

Flushes (TransactionTestCase, `transaction=True`) empty the append-only tables too, which
their triggers refuse. Only here, in the tests' own path, does a flush lift them: on
PostgreSQL as the owner, on its own connection, with the tables' triggers disabled for the
flush's transaction; on SQLite by dropping the DELETE-refusing triggers and creating them
again in the flush's transaction. The application has no such path.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from daozhang.testing import pgserver

# The suite runs in development mode (the embedded secrets, the sandboxes); the processes it
# starts inherit it. Tests of production mode set DAOZHANG_MODE=production for their own
# process or settings (tests/core/test_production_mode.py).
os.environ["DAOZHANG_MODE"] = "development"

_server = None
if os.environ.get("DAOZHANG_TEST_DB") == "postgres" and not os.environ.get("DATABASE_URL"):
    _server = pgserver.start(durable=False)
    atexit.register(_server.stop)
    _server.create_roles()
    os.environ["DATABASE_URL"] = _server.app_url
    os.environ["DAOZHANG_DATABASE_OWNER_URL"] = _server.owner_url
    # For test instruments only (reading the WAL, tests/api/test_api_race_regressions.py):
    # never the tests' own connections.
    os.environ["DAOZHANG_TEST_PG_SUPERUSER"] = "postgres"
elif not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    _tmp = tempfile.mkdtemp(prefix="daozhang-test-")
    os.environ.setdefault("DAOZHANG_TEST_SQLITE_FILE", os.path.join(_tmp, "test.sqlite3"))
    atexit.register(shutil.rmtree, _tmp, True)


def pytest_report_header() -> str:
    url = os.environ.get("DATABASE_URL", "sqlite (embedded default)")
    owner = os.environ.get("DAOZHANG_DATABASE_OWNER_URL")
    return f"database: {url}" + (f" (owner for set-up and flushes: {owner})" if owner else "")


def pytest_configure() -> None:
    # `testserver` (the host of Django's test client) is allowed only in the test process:
    # settings never list it. Django's test runner adds it for the tests themselves; this
    # also covers the client used at collection time (tests/api/test_api_race.py).
    from django.conf import settings

    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    _install_owner_paths()
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        _install_sql_recorder()


# The PostgreSQL pass only: every statement of every connection (threads' too) is read by
# core.distribution_sql; any offender fails the pass at the end (issue 12's list of known
# ones emptied and went).
_recorder: Any = None


def _install_sql_recorder() -> None:
    global _recorder
    if _recorder is not None:
        return
    from django.apps import apps
    from django.db.backends.signals import connection_created

    from daozhang.core.distribution_sql import Recorder

    _recorder = recorder = Recorder(lambda: {m._meta.db_table for m in apps.get_models(include_auto_created=True)})

    def install(sender: Any, connection: Any, **kwargs: Any) -> None:
        # First in the list: `connection.execute_wrapper()` blocks pop the last one on exit.
        if recorder not in connection.execute_wrappers:
            connection.execute_wrappers.insert(0, recorder)

    connection_created.connect(install, weak=False, dispatch_uid="daozhang.testing.sql_recorder")


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    """The SQL check's verdict. Here rather than in a test ordered last: a last test is
    skipped by -k, -x or a path, runs before other tests' teardowns, and cannot see the
    whole session; this runs after every test, and its exit status is `make test`'s."""
    if _recorder is None or not _recorder.found:
        return
    write = session.config.get_terminal_writer().line
    write(f"\nSQL check (core/distribution_sql.py): {len(_recorder.found)} statement(s) on a merchant table "
          "not filtered by merchant_id; filter them (docs/operations.md \"Scaling out\"):", red=True)
    for line in sorted(_recorder.found):
        write(f"  {line}\n      e.g. {_recorder.found[line][:400]}")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


_installed = False


def _install_owner_paths() -> None:
    """Create and destroy the test database as the owner; flush with the guards lifted."""
    global _installed
    if _installed:
        return
    _installed = True
    from django.db.backends.base.creation import BaseDatabaseCreation
    from django.db.backends.base.operations import BaseDatabaseOperations

    from daozhang.core.dbroles import as_owner

    create, destroy = BaseDatabaseCreation.create_test_db, BaseDatabaseCreation.destroy_test_db

    def create_test_db(self: Any, *args: Any, **kwargs: Any) -> Any:
        with as_owner(self.connection):
            return create(self, *args, **kwargs)

    def destroy_test_db(self: Any, *args: Any, **kwargs: Any) -> Any:
        with as_owner(self.connection):
            return destroy(self, *args, **kwargs)

    def execute_sql_flush(self: Any, sql_list: Iterable[str]) -> None:
        with guards_lifted(self.connection) as cur:
            for sql in sql_list:
                cur.execute(sql)

    BaseDatabaseCreation.create_test_db = create_test_db  # type: ignore[method-assign]
    BaseDatabaseCreation.destroy_test_db = destroy_test_db  # type: ignore[method-assign]
    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]


@contextmanager
def guards_lifted(connection: Any) -> Iterator[Any]:
    """A cursor as the owner with the append-only tables' triggers off, in one transaction:
    for the tests' flushes, and for tests that tamper with the books as an attacker with the
    owner's rights (or the SQLite file) would. The triggers are back when the block ends."""
    from django.db import transaction

    from daozhang.core.dbroles import APPEND_ONLY, owner_connection, owner_settings

    if connection.vendor == "postgresql":
        conn = owner_connection(connection) if owner_settings(connection) else connection
        try:
            with transaction.atomic(using=conn.alias) if conn is connection else _atomic(conn), conn.cursor() as cur:
                tables = sorted(set(APPEND_ONLY) & set(conn.introspection.table_names(cur)))
                for t in tables:
                    cur.execute(f'ALTER TABLE "{t}" DISABLE TRIGGER USER')
                yield cur
                for t in tables:
                    cur.execute(f'ALTER TABLE "{t}" ENABLE TRIGGER USER')
        finally:
            if conn is not connection:
                conn.close()
        return
    with transaction.atomic(using=connection.alias), connection.cursor() as cur:
        marks = ",".join(["%s"] * len(APPEND_ONLY))
        cur.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({marks})",  # noqa: S608
                    sorted(APPEND_ONLY))
        triggers = cur.fetchall()
        for name, _ in triggers:
            cur.execute(f'DROP TRIGGER "{name}"')
        yield cur
        for _, sql in triggers:
            cur.execute(sql)


@contextmanager
def _atomic(conn: Any) -> Iterator[None]:
    """A transaction on a connection that is not in django.db.connections."""
    conn.ensure_connection()
    conn.set_autocommit(False)
    try:
        yield
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.set_autocommit(True)
