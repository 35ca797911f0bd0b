"""Database helpers shared by the set-based writers (ledger, imports, settlement)."""

from __future__ import annotations

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
    can be counted.

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
        cur.execute(sql, params, prepare=prepare)
        rows = cur.fetchall() if cur.description else []
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - start:.3f}"})
    return rows
