"""Operations shared by the project's migrations."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def per_database(forward: dict[str, str], backward: dict[str, str]) -> migrations.RunPython:
    """Run the SQL given for the database's vendor ("postgresql", "sqlite"); nothing for a
    vendor not named: one thing done the way each database does it best."""

    def run(sql: dict[str, str]) -> Any:
        def op(apps: Any, schema_editor: Any) -> None:
            statement = sql.get(schema_editor.connection.vendor)
            if statement:
                schema_editor.execute(statement, params=None)
        return op

    return migrations.RunPython(run(forward), run(backward))


def postgres_sql(forward: str, backward: str) -> migrations.RunPython:
    """Run `forward` (and `backward` when unapplied) on PostgreSQL only: triggers, functions
    and storage settings that SQLite has no equivalent for, or gets another way."""
    return per_database({"postgresql": forward}, {"postgresql": backward})
