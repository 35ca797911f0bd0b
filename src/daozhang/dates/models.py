"""The business calendar an operator loads (tables kept from when it lived in settlement)."""

from __future__ import annotations

from django.db import models


class CalendarYear(models.Model):
    """A year whose working days come from an operator-loaded schedule file.

    Loaded years take precedence over the `chinesecalendar` library, so an operator can
    both add a year the library does not know yet and correct one it gets wrong.
    """

    year = models.PositiveSmallIntegerField(primary_key=True)
    file_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    loaded_by = models.CharField(max_length=120)
    loaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "settlement_calendaryear"


class CalendarDay(models.Model):
    """An exception to "Monday to Friday": a weekday holiday or a make-up working weekend (调休)."""

    date = models.DateField(primary_key=True)
    is_workday = models.BooleanField()
    name = models.CharField(max_length=60, blank=True, default="")

    class Meta:
        db_table = "settlement_calendarday"
