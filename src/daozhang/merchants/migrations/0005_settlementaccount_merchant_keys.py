"""Issue 12: settlement accounts keyed (merchant_id, id) on PostgreSQL; MerchantKeys turns
the payout's foreign key to its account into (merchant_id, account_id). After the
settlement migrations, so that key exists to be turned (a key made later to an `id` that is
no longer unique would fail)."""

from django.db import migrations

from daozhang.core.migration_ops import MerchantKeys


class Migration(migrations.Migration):

    dependencies = [
        ("merchants", "0004_account_change_stages"),
        ("settlement", "0011_adjustment_merchant_keys"),
    ]

    operations = [
        MerchantKeys("merchants_settlementaccount"),
    ]
