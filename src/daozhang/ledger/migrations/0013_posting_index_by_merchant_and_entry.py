"""Postings indexed by (merchant_id, entry_id), not entry_id alone.

The deferred balance check (ledger 0012) sums an entry's postings `WHERE merchant_id = …
AND entry_id = …`. With an index on `entry_id` and the primary key `(merchant_id, id)`,
PostgreSQL's cached plan for the trigger could take the key's `merchant_id` prefix and read
every posting of the merchant for each entry: a bulk import of a thousand entries a
transaction fell from 11,300 to 1,500 a second, slower with each round (bench, docs/
performance.md). One index on both columns serves that query, the check of a posting's
entry, and a lookup of an entry's postings on a database distributed by merchant.
"""

import django.db.models.deletion
from django.db import migrations, models


def drop_entry_index(apps, schema_editor):
    conn = schema_editor.connection
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'ledger_posting'"
                        " AND indexdef LIKE '%%(entry_id)'")
            names = [n for (n,) in cur.fetchall()]
        else:
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ledger_posting'"
                        " AND sql LIKE '%%(\"entry_id\")'")
            names = [n for (n,) in cur.fetchall()]
    for name in names:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def create_entry_index(apps, schema_editor):
    schema_editor.execute('CREATE INDEX IF NOT EXISTS "ledger_posting_entry_id" ON "ledger_posting" ("entry_id")')


class Migration(migrations.Migration):

    dependencies = [("ledger", "0012_keys_by_merchant")]

    operations = [
        # Read by nothing; and a second index leading with merchant_id that a plan made on a
        # near-empty table could pick, with a filter on id, for the posting trigger's look-up
        # of its entry by (merchant_id, id): every entry of the merchant read, per posting.
        migrations.RemoveIndex(model_name="entry", name="ledger_entry_merchant_date"),
        migrations.AddIndex(model_name="posting", index=models.Index(fields=["merchant_id", "entry"],
                                                                     name="ledger_posting_merchant_entry")),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AlterField(
                model_name="posting", name="entry",
                field=models.ForeignKey(db_constraint=False, db_index=False,
                                        on_delete=django.db.models.deletion.PROTECT, related_name="postings",
                                        to="ledger.entry"))],
            database_operations=[migrations.RunPython(drop_entry_index, create_entry_index)],
        ),
    ]
