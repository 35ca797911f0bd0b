from __future__ import annotations

from django.contrib import admin

from daozhang.core.admin import ReadOnly
from daozhang.dates.models import CalendarDay, CalendarYear


@admin.register(CalendarYear)
class CalendarYearAdmin(ReadOnly):
    list_display = ("year", "file_name", "loaded_by", "loaded_at")


@admin.register(CalendarDay)
class CalendarDayAdmin(ReadOnly):
    list_display = ("date", "is_workday", "name")
    list_filter = ("is_workday",)
