"""Drop single-column foreign-key indexes that a composite index leading with the same column
already serves (every query and foreign-key check by that column can use the composite).
Each index is one more write per row on the hottest tables (docs/performance.md).

Only the index is dropped: an AlterField would rebuild the table on SQLite (losing the
ledger's immutability triggers) and drop and re-validate the foreign key on PostgreSQL.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0005_account_fillfactor'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # Covered by ledger_posting_account (account_id, entry_id).
            state_operations=[migrations.AlterField(model_name="posting", name="account", field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='postings', to='ledger.account'))],
            database_operations=[migrations.RunSQL(
                "DROP INDEX IF EXISTS ledger_posting_account_id_964f801d",
                reverse_sql="CREATE INDEX ledger_posting_account_id_964f801d ON ledger_posting (account_id)",
            )],
        ),
    ]
