"""A batch's sums move from one column per flow into `figures`, keyed by each source's figure.

Why: a new money flow registers a source (`settlement.sources`) instead of adding columns
here. Existing batches keep their sums under the same names.
"""

# The names are this file's constants, never input:
# ruff: noqa: S608

from typing import Any

from django.db import migrations, models

_KEYS = ("sales_count", "sales_amount", "fees", "undone_amount", "held_amount", "released_amount", "adjustments")


def _columns_to_figures(apps: Any, schema_editor: Any) -> None:
    build = "jsonb_build_object" if schema_editor.connection.vendor == "postgresql" else "json_object"
    pairs = ", ".join(f"'{k}', {k}" for k in _KEYS)
    schema_editor.execute(f"UPDATE settlement_settlementbatch SET figures = {build}({pairs})")


def _figures_to_columns(apps: Any, schema_editor: Any) -> None:
    pg = schema_editor.connection.vendor == "postgresql"
    sets = ", ".join(f"{k} = COALESCE(CAST(figures ->> '{k}' AS bigint), 0)" if pg
                     else f"{k} = COALESCE(json_extract(figures, '$.{k}'), 0)" for k in _KEYS)
    schema_editor.execute(f"UPDATE settlement_settlementbatch SET {sets}")


class Migration(migrations.Migration):
    dependencies = [("settlement", "0007_calendar_moves_to_dates")]

    operations = [
        migrations.AddField(model_name="settlementbatch", name="figures", field=models.JSONField(default=dict)),
        migrations.RunPython(_columns_to_figures, _figures_to_columns),
        *(migrations.RemoveField(model_name="settlementbatch", name=k) for k in _KEYS),
    ]
