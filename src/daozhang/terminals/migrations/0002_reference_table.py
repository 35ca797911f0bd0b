"""Issue 12: terminals are a reference table, so their merchant is not a foreign key.

A terminal is the acquirer's device: it is in stock with no merchant, bound to one, later
returned and bound to another. On a database distributed by merchant (Citus) it cannot live
on a merchant's shard (the distribution column of a row never changes), so it is a
reference table, copied to every node: a sale reads its terminal locally, and payments and
reversals keep their foreign key to it (a distributed table may point at a reference
table). A reference table may not point at a distributed one, so `merchant_id` loses its
database constraint; the terminal services are the only writers and bind only to a
merchant they have read, and merchants are never deleted (they close).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("merchants", "0001_initial"),
        ("terminals", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="terminal",
            name="merchant",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="terminals",
                                    to="merchants.merchant"),
        ),
    ]
