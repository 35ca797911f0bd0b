"""Issue 12: settlement batches and payouts keyed (merchant_id, id) on PostgreSQL; the
payout → batch key and the carried-to self-reference become (merchant_id, …) keys
(core.migration_ops.MerchantKeys), and a batch's attempt number is unique per merchant."""

from django.db import migrations, models

from daozhang.core.migration_ops import MerchantKeys


class Migration(migrations.Migration):

    dependencies = [
        ("settlement", "0011_adjustment_merchant_keys"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="payout", name="payout_batch_attempt"),
        migrations.AddConstraint(
            model_name="payout",
            constraint=models.UniqueConstraint(fields=("merchant", "batch", "attempt"), name="payout_batch_attempt"),
        ),
        MerchantKeys("settlement_settlementbatch"),
        MerchantKeys("settlement_payout"),
    ]
