"""Issue 12: the registry of values unique across all merchants (core.unique), a platform table."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0012_outbox_keys_by_merchant"),
    ]

    operations = [
        migrations.CreateModel(
            name="UniqueValue",
            fields=[
                ("pk", models.CompositePrimaryKey("namespace", "value", blank=True, editable=False, primary_key=True,
                                                  serialize=False)),
                ("namespace", models.CharField(max_length=40)),
                ("value", models.CharField(max_length=200)),
                ("merchant_id", models.UUIDField()),
            ],
        ),
    ]
