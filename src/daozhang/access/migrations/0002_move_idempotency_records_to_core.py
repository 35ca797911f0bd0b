"""Copy the stored answers into core's table (merchant id from the scope, the platform's for
staff and pages; kept a week from when they were written), then drop access's."""

import datetime as dt
import uuid

from django.db import migrations

PLATFORM_ID = uuid.UUID(int=0)


def copy(apps, schema_editor):  # type: ignore[no-untyped-def]
    old = apps.get_model("access", "IdempotencyRecord")
    new = apps.get_model("core", "IdempotencyRecord")
    batch = []
    for r in old.objects.all().iterator(chunk_size=2000):
        who, _, rest = r.scope.partition(":")
        try:
            merchant_id = uuid.UUID(rest) if who == "merchant" else PLATFORM_ID
        except ValueError:
            merchant_id = PLATFORM_ID
        batch.append(new(id=r.id, merchant_id=merchant_id, scope=r.scope, key=r.key, request_hash=r.request_hash,
                         status_code=r.status_code, body=r.body, created_at=r.created_at,
                         expires_at=r.created_at + dt.timedelta(days=7)))
        if len(batch) >= 2000:
            new.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    new.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("access", "0001_initial"), ("core", "0005_idempotencyrecord")]

    operations = [
        migrations.RunPython(copy, migrations.RunPython.noop),
        migrations.DeleteModel(name="IdempotencyRecord"),
    ]
