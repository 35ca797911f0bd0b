"""Issue 12: the platform's audit rows under the platform tenant; the log keyed by merchant.

Staff actions on no merchant had `merchant_id` NULL, so the table could not be distributed
by merchant (a NULL distribution value cannot be inserted on Citus). They now carry the
platform tenant's id (`core.ids.PLATFORM_ID`, the nil uuid): existing rows are
given it here, once, with the append-only guard lifted for this update in this transaction
(the owner runs migrations). Their hashes stay valid: the chain's hash serialises the
tenant as it serialised NULL (`audit.chain.canonical`). One unique key (merchant_id, seq)
replaces the two partial ones; on PostgreSQL the key is (merchant_id, id).
"""

import uuid

from django.db import migrations, models

from daozhang.core.migration_ops import MerchantKeys, sqlite_triggers_kept, update_past_guard

TENANT = uuid.UUID(int=0)


def forward(apps, schema_editor):
    conn = schema_editor.connection
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM audit_auditevent WHERE merchant_id IS NULL")
        if not cur.fetchone()[0]:
            return
    tenant = TENANT.hex if conn.vendor == "sqlite" else TENANT
    update_past_guard(schema_editor, "audit_auditevent", "audit_auditevent_immutable",
                      "UPDATE audit_auditevent SET merchant_id = %s WHERE merchant_id IS NULL", [tenant])


def backward(apps, schema_editor):
    pass  # the rows keep the tenant's id: their hashes say the same either way


class Migration(migrations.Migration):

    dependencies = [("audit", "0003_append_only")]

    operations = [
        migrations.RunPython(forward, backward),
        *sqlite_triggers_kept(
            ["audit_auditevent"],
            migrations.RemoveConstraint(model_name="auditevent", name="audit_merchant_chain_seq"),
            migrations.RemoveConstraint(model_name="auditevent", name="audit_platform_chain_seq"),
            migrations.AlterField(model_name="auditevent", name="merchant_id", field=models.UUIDField()),
            migrations.AddConstraint(model_name="auditevent", constraint=models.UniqueConstraint(
                fields=("merchant_id", "seq"), name="audit_chain_seq")),
        ),
        MerchantKeys("audit_auditevent"),
    ]
