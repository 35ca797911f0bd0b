"""PostgreSQL: leave room in ledger_account pages so balance updates are HOT updates.

Every posting updates its account's stored balance. `balance` is in no index, so
PostgreSQL can write the new row version on the same page without touching the table's
five indexes (a heap-only tuple, HOT) — but only if the page has room; at the default
fillfactor (100) pages are packed and every balance update also inserts into all five
indexes. The table is small (a few rows per merchant) and its rows are the most updated in
the database, so half of each page is kept free. Applies to pages written from now on
(existing pages gain room as VACUUM frees old row versions).
"""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE ledger_account SET (fillfactor = 50)")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE ledger_account RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_one_balance_check_per_entry")]
    operations = [migrations.RunPython(forward, backward)]
