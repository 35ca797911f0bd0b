"""Issue 12: the outbox keyed by merchant, each delivery beside its event.

On a database distributed by merchant an event must be written on its merchant's shard, in
the transaction of the change it tells of, and its deliveries with it: so deliveries carry
the event's merchant, the platform's own events carry the platform tenant
(`core.ids.PLATFORM_ID`) instead of NULL, and on PostgreSQL both tables are keyed
`(merchant_id, id)`, the delivery's foreign key `(merchant_id, event_id)`.
"""

import uuid

from django.db import migrations, models

from daozhang.core.migration_ops import MerchantKeys

PLATFORM_ID = uuid.UUID(int=0)


def fill(apps, schema_editor):
    conn = schema_editor.connection
    tenant = PLATFORM_ID.hex if conn.vendor == "sqlite" else PLATFORM_ID
    with conn.cursor() as cur:
        cur.execute("UPDATE core_outboxevent SET merchant_id = %s WHERE merchant_id IS NULL", [tenant])
        cur.execute("UPDATE core_outboxdelivery SET merchant_id = (SELECT e.merchant_id FROM core_outboxevent e"
                    " WHERE e.id = core_outboxdelivery.event_id)")


class Migration(migrations.Migration):

    dependencies = [("core", "0011_idempotency_merchant_keys")]

    operations = [
        migrations.AddField(model_name="outboxdelivery", name="merchant_id", field=models.UUIDField(null=True)),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(model_name="outboxevent", name="merchant_id", field=models.UUIDField()),
        migrations.AlterField(model_name="outboxdelivery", name="merchant_id", field=models.UUIDField()),
        migrations.RemoveConstraint(model_name="outboxdelivery", name="outbox_delivery_once"),
        migrations.AddConstraint(model_name="outboxdelivery", constraint=models.UniqueConstraint(
            fields=("merchant_id", "event", "subscriber"), name="outbox_delivery_once")),
        MerchantKeys("core_outboxevent"),
        MerchantKeys("core_outboxdelivery"),
    ]
