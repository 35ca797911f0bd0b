from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from daozhang.core.models import Alert, JobRun


class ReadOnly(admin.ModelAdmin):
    """An admin page that shows and never edits: records written by services only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnly):
    """Open alerts first: missing calendar years, payouts the bank keeps refusing."""

    list_display = ("raised_at", "kind", "key", "message_en", "message_zh", "resolved_at")
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter))
    ordering = ("resolved_at", "-raised_at")


@admin.register(JobRun)
class JobRunAdmin(ReadOnly):
    """Progress of imports, settlement and payout runs, also of runs that crashed half-way."""

    list_display = ("started_at", "kind", "label", "status", "done", "total", "finished_at", "message", "host", "pid")
    list_filter = ("kind", "status")
