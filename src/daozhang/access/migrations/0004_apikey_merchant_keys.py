"""Issue 12: API keys keyed (merchant_id, id) on PostgreSQL, the hash unique per merchant
(access.models.ApiKey says why), looked up by a plain index on the hash."""

from django.db import migrations, models

from daozhang.core.migration_ops import MerchantKeys


class Migration(migrations.Migration):

    dependencies = [
        ("access", "0003_credential_expiry_last_use_and_login_throttle"),
    ]

    operations = [
        migrations.AlterField(
            model_name="apikey", name="key_hash", field=models.CharField(db_index=True, max_length=64),
        ),
        migrations.AddConstraint(
            model_name="apikey",
            constraint=models.UniqueConstraint(fields=("merchant", "key_hash"), name="api_key_hash_per_merchant"),
        ),
        MerchantKeys("access_apikey"),
    ]
