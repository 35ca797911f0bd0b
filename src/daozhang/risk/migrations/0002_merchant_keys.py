"""Issue 12: risk holds keyed (merchant_id, id) on PostgreSQL (core.migration_ops.MerchantKeys)."""

from django.db import migrations

from daozhang.core.migration_ops import MerchantKeys


class Migration(migrations.Migration):

    dependencies = [
        ("risk", "0001_initial"),
    ]

    operations = [
        MerchantKeys("risk_riskhold"),
    ]
