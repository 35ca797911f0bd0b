from __future__ import annotations

from django.contrib import admin

from daozhang.core.admin import ReadOnly
from daozhang.terminals.models import Terminal


@admin.register(Terminal)
class TerminalAdmin(ReadOnly):
    list_display = ("terminal_id", "serial_number", "model", "merchant", "status", "bound_at")
    list_filter = ("status", "model")
    search_fields = ("terminal_id", "serial_number", "merchant__merchant_no")
