"""Database helpers shared by the set-based writers (ledger, imports, settlement)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection


def execute_server_bound(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """PostgreSQL: one statement with server-side parameter binding; returns its rows.

    Django's cursors bind client-side (parameters rendered into the SQL text); for arrays
    of thousands of values, sending them apart in psycopg's binary format (%b) costs both
    sides much less. Same connection and transaction as the ORM; errors become Django's.
    """
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cur:
        # Not prepared: each such statement runs once per batch, and it stays safe behind a
        # transaction-pooling connection pooler.
        cur.execute(sql, params, prepare=False)
        return cur.fetchall() if cur.description else []
