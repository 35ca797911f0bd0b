"""The exactly-once records move into core (core.once), keyed by merchant, with an expiry."""

import daozhang.core.ids
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("core", "0004_sql_functions")]

    operations = [
        migrations.CreateModel(
            name="IdempotencyRecord",
            fields=[
                ("id", models.UUIDField(default=daozhang.core.ids.new_id, editable=False, primary_key=True,
                                        serialize=False)),
                ("merchant_id", models.UUIDField()),
                ("scope", models.CharField(max_length=60)),
                ("key", models.CharField(max_length=120)),
                ("request_hash", models.CharField(max_length=64)),
                ("status_code", models.PositiveSmallIntegerField()),
                ("body", models.JSONField()),
                ("created_at", models.DateTimeField()),
                ("expires_at", models.DateTimeField()),
            ],
            options={
                "indexes": [models.Index(fields=["expires_at"], name="idempotency_expiry")],
                "constraints": [models.UniqueConstraint(fields=("merchant_id", "scope", "key"),
                                                        name="idempotency_once")],
            },
        ),
    ]
