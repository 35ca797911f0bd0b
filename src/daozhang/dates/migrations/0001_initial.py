"""The calendar models move here from settlement; their tables stay as they are (state only)."""

from typing import Any

from django.db import migrations, models


def _carry_content_types(apps: Any, schema_editor: Any) -> None:
    """Keep the models' content types, so permissions granted on them (groups, users) stay."""
    content_type = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in ("calendaryear", "calendarday"):
        if not content_type.objects.using(db).filter(app_label="dates", model=model).exists():
            content_type.objects.using(db).filter(app_label="settlement", model=model).update(app_label="dates")


def _give_back_content_types(apps: Any, schema_editor: Any) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.using(schema_editor.connection.alias).filter(
        app_label="dates", model__in=("calendaryear", "calendarday")).update(app_label="settlement")


class Migration(migrations.Migration):
    initial = True
    dependencies = [("settlement", "0006_open_carried_index"), ("contenttypes", "0002_remove_content_type_name")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="CalendarYear",
                    fields=[
                        ("year", models.PositiveSmallIntegerField(primary_key=True, serialize=False)),
                        ("file_name", models.CharField(max_length=200)),
                        ("sha256", models.CharField(max_length=64)),
                        ("loaded_by", models.CharField(max_length=120)),
                        ("loaded_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={"db_table": "settlement_calendaryear"},
                ),
                migrations.CreateModel(
                    name="CalendarDay",
                    fields=[
                        ("date", models.DateField(primary_key=True, serialize=False)),
                        ("is_workday", models.BooleanField()),
                        ("name", models.CharField(blank=True, default="", max_length=60)),
                    ],
                    options={"db_table": "settlement_calendarday"},
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_carry_content_types, _give_back_content_types),
    ]
