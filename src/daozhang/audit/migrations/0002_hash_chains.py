"""The audit log becomes hash chains, one per merchant plus the platform's (audit.chain).

Existing rows are chained in the order they were written (at, then id), their before and
after normalised as new rows are, and each chain's head row is written. Runs before the
triggers that make the rows immutable (0003).
"""

import django.utils.timezone
from django.db import migrations, models


def chain_existing(apps, schema_editor):
    from daozhang.audit.chain import GENESIS, chain_key, normalise, row_hash

    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditChain = apps.get_model("audit", "AuditChain")
    db = schema_editor.connection.alias
    heads: dict[str, tuple[int, str]] = {}
    batch = []
    for e in AuditEvent.objects.using(db).order_by("merchant_id", "at", "id").iterator(chunk_size=2000):
        key = chain_key(e.merchant_id)
        seq, prev = heads.get(key, (0, GENESIS))
        e.seq, e.prev_hash = seq + 1, prev
        e.before, e.after = normalise(e.before), normalise(e.after)
        e.hash = row_hash(id=e.id, at=e.at, actor=e.actor, action=e.action, object_type=e.object_type,
                          object_id=e.object_id, merchant_id=e.merchant_id, before=e.before, after=e.after,
                          seq=e.seq, prev_hash=e.prev_hash)
        heads[key] = (e.seq, e.hash)
        batch.append(e)
        if len(batch) >= 2000:
            AuditEvent.objects.using(db).bulk_update(batch, ["seq", "prev_hash", "hash", "before", "after"])
            batch = []
    if batch:
        AuditEvent.objects.using(db).bulk_update(batch, ["seq", "prev_hash", "hash", "before", "after"])
    AuditChain.objects.using(db).bulk_create(
        [AuditChain(chain=key, seq=seq, hash=h) for key, (seq, h) in heads.items()])


class Migration(migrations.Migration):

    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="AuditChain",
            fields=[
                ("chain", models.CharField(max_length=36, primary_key=True, serialize=False)),
                ("seq", models.BigIntegerField(default=0)),
                ("hash", models.CharField(max_length=64)),
            ],
        ),
        migrations.AlterField(
            model_name="auditevent", name="at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AddField(model_name="auditevent", name="seq", field=models.BigIntegerField(default=0),
                            preserve_default=False),
        migrations.AddField(model_name="auditevent", name="prev_hash", field=models.CharField(default="", max_length=64),
                            preserve_default=False),
        migrations.AddField(model_name="auditevent", name="hash", field=models.CharField(default="", max_length=64),
                            preserve_default=False),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(condition=models.Q(merchant_id__isnull=False),
                                               fields=("merchant_id", "seq"), name="audit_merchant_chain_seq"),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(condition=models.Q(merchant_id__isnull=True), fields=("seq",),
                                               name="audit_platform_chain_seq"),
        ),
    ]
