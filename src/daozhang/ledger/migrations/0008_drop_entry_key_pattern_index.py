"""PostgreSQL: drop the `varchar_pattern_ops` index Django adds beside the unique index of
`ledger_entry.idempotency_key`.

It serves only `LIKE 'prefix%'` searches, which nothing runs on entry keys (the admin's
search is a case-insensitive substring match, which it cannot serve), and it is one more
index written per entry: per sale, per settled batch. Equality look-ups use the unique
index. Dropped by its introspected name (Django suffixes it with a hash).
"""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'ledger_entry'"
                    " AND indexname LIKE 'ledger_entry_idempotency_key%%_like'")
        for (name,) in cur.fetchall():
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE INDEX IF NOT EXISTS ledger_entry_idempotency_key_like"
                              " ON ledger_entry (idempotency_key varchar_pattern_ops)")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_posting_references_checked_per_statement")]
    operations = [migrations.RunPython(forward, backward)]
