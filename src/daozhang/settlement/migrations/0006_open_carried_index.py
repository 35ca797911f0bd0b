"""Index the carried batches not yet taken into a later batch, and only the batches that were.

Every settlement run asks, per merchant, for its carried batches with no `carried_to`
yet. The foreign-key index on `carried_to` held every batch (nearly all have none), so
SQLite — without statistics, as a product database usually is — read the whole table's
NULL entries through it for every chunk of merchants, and PostgreSQL read every earlier
batch of the chunk's merchants: both grow with history. Now `batch_open_carried` holds only
the open carried batches (a handful), and `batch_carried_to` only the batches that were
carried (what the reverse look-up needs); the full index is dropped without rebuilding the
table on SQLite.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("merchants", "0003_encrypt_account_numbers"),
        ("settlement", "0005_drop_redundant_fk_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AlterField(
                model_name="settlementbatch", name="carried_to",
                field=models.ForeignKey(blank=True, db_index=False, null=True,
                                        on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                        to="settlement.settlementbatch"))],
            database_operations=[migrations.RunSQL(
                "DROP INDEX IF EXISTS settlement_settlementbatch_carried_to_id_5091a679",
                reverse_sql="CREATE INDEX settlement_settlementbatch_carried_to_id_5091a679"
                            " ON settlement_settlementbatch (carried_to_id)",
            )],
        ),
        migrations.AddIndex(
            model_name="settlementbatch",
            index=models.Index(condition=models.Q(("carried_to__isnull", True), ("status", "carried")),
                               fields=["merchant", "settlement_date"], name="batch_open_carried"),
        ),
        migrations.AddIndex(
            model_name="settlementbatch",
            index=models.Index(condition=models.Q(("carried_to__isnull", False)), fields=["carried_to"],
                               name="batch_carried_to"),
        ),
    ]
