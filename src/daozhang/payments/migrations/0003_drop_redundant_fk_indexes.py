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
        ('payments', '0002_payment_settlement_date_payment_undo_settlement_date_and_more'),
        ('terminals', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # Covered by payment_idempotency (merchant_id, idempotency_key) and the pay_merchant_* indexes.
            state_operations=[migrations.AlterField(model_name="payment", name="merchant", field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='merchants.merchant'))],
            database_operations=[migrations.RunSQL(
                "DROP INDEX IF EXISTS payments_payment_merchant_id_2ca42133",
                reverse_sql="CREATE INDEX payments_payment_merchant_id_2ca42133 ON payments_payment (merchant_id)",
            )],
        ),
        migrations.SeparateDatabaseAndState(
            # Covered by pay_terminal_stan (terminal_id, stan, business_date).
            state_operations=[migrations.AlterField(model_name="payment", name="terminal", field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='terminals.terminal'))],
            database_operations=[migrations.RunSQL(
                "DROP INDEX IF EXISTS payments_payment_terminal_id_293bdf95",
                reverse_sql="CREATE INDEX payments_payment_terminal_id_293bdf95 ON payments_payment (terminal_id)",
            )],
        ),
    ]
