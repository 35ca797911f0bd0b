"""Issue 12: idempotency records keyed (merchant_id, id) on PostgreSQL (core.migration_ops.MerchantKeys)."""

from django.db import migrations

from daozhang.core.migration_ops import MerchantKeys


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0010_jobrun_process"),
    ]

    operations = [
        MerchantKeys("core_idempotencyrecord"),
    ]
