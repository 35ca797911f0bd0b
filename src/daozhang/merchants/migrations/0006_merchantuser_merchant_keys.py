"""Issue 12: merchant portal users keyed (merchant_id, id) on PostgreSQL (core.migration_ops.MerchantKeys)."""

from django.db import migrations

from daozhang.core.migration_ops import MerchantKeys


class Migration(migrations.Migration):

    dependencies = [
        ("merchants", "0005_settlementaccount_merchant_keys"),
    ]

    operations = [
        MerchantKeys("merchants_merchantuser"),
    ]
