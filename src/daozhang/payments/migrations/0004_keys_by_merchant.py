"""Issue 12: payments, reversals and payment events keyed (merchant_id, id) on PostgreSQL.

`MerchantKeys` turns the foreign keys that point at payments (events, reversals, risk
holds) into `(merchant_id, payment_id)`, so it runs after the migrations that create them.
"""

from django.db import migrations

from daozhang.core.migration_ops import MerchantKeys


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0003_drop_redundant_fk_indexes"),
        ("risk", "0002_merchant_keys"),
    ]

    operations = [
        MerchantKeys("payments_payment"),
        MerchantKeys("payments_reversal"),
        MerchantKeys("payments_paymentevent"),
    ]
