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
        ('merchants', '0002_settlementaccount_rejected_at_and_more'),
        ('settlement', '0004_settled_day'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # Covered by batch_merchant_date (merchant_id, settlement_date) and batch_merchant_status.
            state_operations=[migrations.AlterField(model_name="settlementbatch", name="merchant", field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='batches', to='merchants.merchant'))],
            database_operations=[migrations.RunSQL(
                "DROP INDEX IF EXISTS settlement_settlementbatch_merchant_id_cd5521c8",
                reverse_sql="CREATE INDEX settlement_settlementbatch_merchant_id_cd5521c8 ON settlement_settlementbatch (merchant_id)",
            )],
        ),
    ]
