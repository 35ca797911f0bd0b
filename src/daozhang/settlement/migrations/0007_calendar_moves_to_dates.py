"""The calendar models now belong to the `dates` app; the tables are untouched (state only)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("settlement", "0006_open_carried_index"), ("dates", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="CalendarYear"), migrations.DeleteModel(name="CalendarDay")],
            database_operations=[],
        ),
    ]
