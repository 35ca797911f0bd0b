"""Issue 12: merchant numbers, USCCs and portal logins unique across the platform through the
registry (core.unique), not by unique keys of the merchant tables, which a database
distributed by merchant cannot enforce without `merchant_id`.

First every existing value is registered to its merchant, while the old unique keys still
guarantee there is one of each; then the keys go: the merchant number keeps a plain index
(looked up by number), the USCC none (looked up through the registry), a portal link's user
an index (Django's, for the foreign key) and a unique key per merchant `(merchant, user)`.
Backward: the keys come back (refused if duplicates were written meanwhile) and the
registered values go. Plain SQL for both databases: the ids are copied as stored, the auth
user's id as its decimal text, as `str(user.pk)` writes it.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FILL = """
INSERT INTO core_uniquevalue (namespace, value, merchant_id)
SELECT 'merchants.merchant_no', merchant_no, id FROM merchants_merchant
UNION ALL
SELECT 'merchants.uscc', uscc, id FROM merchants_merchant
UNION ALL
SELECT 'merchants.user', CAST(user_id AS TEXT), merchant_id FROM merchants_merchantuser
"""
EMPTY = "DELETE FROM core_uniquevalue WHERE namespace IN ('merchants.merchant_no', 'merchants.uscc', 'merchants.user')"


class Migration(migrations.Migration):

    dependencies = [
        ("merchants", "0006_merchantuser_merchant_keys"),
        ("core", "0013_uniquevalue"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunSQL(FILL, EMPTY),
        migrations.AlterField(
            model_name="merchant",
            name="merchant_no",
            field=models.CharField(db_index=True, max_length=15),
        ),
        migrations.AlterField(
            model_name="merchant",
            name="uscc",
            field=models.CharField(max_length=18, verbose_name="USCC 统一社会信用代码"),
        ),
        migrations.AlterField(
            model_name="merchantuser",
            name="user",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                    to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name="merchantuser",
            constraint=models.UniqueConstraint(fields=("merchant", "user"), name="merchantuser_once"),
        ),
    ]
