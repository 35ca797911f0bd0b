"""Issue 12: the support tables keyed (merchant_id, id) on PostgreSQL.

A case event gets its case's merchant (filled, then NOT NULL); a case number is unique
per merchant (models.SupportCase says why that suffices); MerchantKeys turns the primary
keys and the event → case foreign key into ones that include merchant_id."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

from daozhang.core.migration_ops import MerchantKeys


def fill_merchant(apps, schema_editor):
    CaseEvent, SupportCase = apps.get_model("support", "CaseEvent"), apps.get_model("support", "SupportCase")
    CaseEvent.objects.update(merchant_id=Subquery(
        SupportCase.objects.filter(id=OuterRef("case_id")).values("merchant_id")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ("merchants", "0004_account_change_stages"),
        ("support", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="caseevent", name="merchant",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to="merchants.merchant"),
        ),
        migrations.RunPython(fill_merchant, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="caseevent", name="merchant",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to="merchants.merchant"),
        ),
        migrations.AlterField(
            model_name="supportcase", name="case_no", field=models.CharField(max_length=20),
        ),
        migrations.AddConstraint(
            model_name="supportcase",
            constraint=models.UniqueConstraint(fields=("merchant", "case_no"), name="case_no_per_merchant"),
        ),
        MerchantKeys("support_supportcase"),
        MerchantKeys("support_caseevent"),
    ]
