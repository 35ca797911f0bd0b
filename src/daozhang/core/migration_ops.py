"""Operations shared by the project's migrations."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def postgres_sql(forward: str, backward: str) -> migrations.RunPython:
    """Run `forward` (and `backward` when unapplied) on PostgreSQL only: triggers, functions
    and storage settings that SQLite has no equivalent for, or gets another way."""

    def run(sql: str) -> Any:
        def op(apps: Any, schema_editor: Any) -> None:
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(sql, params=None)
        return op

    return migrations.RunPython(run(forward), run(backward))
