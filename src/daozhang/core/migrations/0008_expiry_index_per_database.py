"""The purge's index on `expires_at`, per database: BRIN on PostgreSQL, whose rows arrive in
expiry order, so a few pages' summary serves the purge and each request's insert costs next
to nothing (a B-tree cost an index insert on every state-changing request, the online sale
included); a B-tree on SQLite."""

from typing import Any

from django.db import migrations

FORWARD = {
    "postgresql": "CREATE INDEX idempotency_expiry ON core_idempotencyrecord USING brin (expires_at)",
    "sqlite": "CREATE INDEX idempotency_expiry ON core_idempotencyrecord (expires_at)",
}


def _run(sql: dict[str, str]) -> Any:
    def op(apps: Any, schema_editor: Any) -> None:
        statement = sql.get(schema_editor.connection.vendor)
        if statement:
            schema_editor.execute(statement, params=None)
    return op


class Migration(migrations.Migration):
    dependencies = [("core", "0007_claim_function")]

    operations = [
        migrations.RemoveIndex(model_name="idempotencyrecord", name="idempotency_expiry"),
        migrations.RunPython(_run(FORWARD), _run({"postgresql": "DROP INDEX idempotency_expiry",
                                                  "sqlite": "DROP INDEX idempotency_expiry"})),
    ]
