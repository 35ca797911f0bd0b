from __future__ import annotations

from django.contrib import admin

from daozhang.core.models import Alert, JobRun
from daozhang.ledger.admin import ReadOnly


@admin.register(Alert)
class AlertAdmin(ReadOnly):
    """Open alerts first: missing calendar years, payouts the bank keeps refusing."""

    list_display = ("raised_at", "kind", "key", "message_en", "message_zh", "resolved_at")
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter))
    ordering = ("resolved_at", "-raised_at")


@admin.register(JobRun)
class JobRunAdmin(ReadOnly):
    """Progress of imports, settlement and payout runs, also of runs that crashed half-way."""

    list_display = ("started_at", "kind", "label", "status", "done", "total", "finished_at")
    list_filter = ("kind", "status")
