"""SQLite's copies of the SQL functions PostgreSQL gets by migration (core 0004).

Registered on every new SQLite connection, so one statement text serves both databases.
SQLite stores uuids as 32 hex digits: `daozhang_uuid7()` returns that form and
`daozhang_uuid_text(hex)` the standard hyphenated text.
"""

from __future__ import annotations

import uuid
from typing import Any

import uuid_utils


def _uuid7_hex() -> str:
    return uuid_utils.uuid7().hex


def _uuid_text(value: str | None) -> str | None:
    # str(uuid.UUID(value)) without building the object: called per row of a settlement chunk.
    if value is None:
        return None
    if len(value) != 32:
        return str(uuid.UUID(value))  # not the stored hex form: let uuid say what is wrong
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}".lower()


def register(sender: Any, connection: Any, **kwargs: Any) -> None:
    """`connection_created` receiver."""
    if connection.vendor != "sqlite":
        return
    raw = connection.connection
    raw.create_function("daozhang_uuid7", 0, _uuid7_hex)
    raw.create_function("daozhang_uuid_text", 1, _uuid_text, deterministic=True)
