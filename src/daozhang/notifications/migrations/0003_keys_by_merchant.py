"""Issue 12: the message log keyed by merchant.

Only merchants are messaged; a row with no merchant could only be the failure note of a
platform event (no recipient, nothing sent), whose delivery row keeps the same error: those
notes go. Then `merchant_id` is NOT NULL, the once-per-event key includes the merchant,
and on PostgreSQL the key is `(merchant_id, id)`.
"""

import django.db.models.deletion
from django.db import migrations, models

from daozhang.core.migration_ops import MerchantKeys


def drop_platform_notes(apps, schema_editor):
    with schema_editor.connection.cursor() as cur:
        cur.execute("DELETE FROM notifications_notification WHERE merchant_id IS NULL")


class Migration(migrations.Migration):

    dependencies = [
        ("merchants", "0003_encrypt_account_numbers"),
        ("notifications", "0002_delivery_log"),
    ]

    operations = [
        migrations.RunPython(drop_platform_notes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="notification", name="merchant",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="notifications",
                                    to="merchants.merchant"),
        ),
        migrations.RemoveConstraint(model_name="notification", name="notification_once_per_event"),
        migrations.AddConstraint(model_name="notification", constraint=models.UniqueConstraint(
            condition=models.Q(event_id__isnull=False), fields=("merchant", "event_id", "channel"),
            name="notification_once_per_event")),
        MerchantKeys("notifications_notification"),
    ]
