"""Issue 12: adjustments keyed (merchant_id, id) on PostgreSQL (core.migration_ops.MerchantKeys)."""

from django.db import migrations

from daozhang.core.migration_ops import MerchantKeys


class Migration(migrations.Migration):

    dependencies = [
        ("settlement", "0010_payout_checks_and_closed_days"),
    ]

    operations = [
        MerchantKeys("settlement_adjustment"),
    ]
