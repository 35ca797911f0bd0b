from __future__ import annotations

from django.contrib import admin

from daozhang.core.admin import ReadOnly
from daozhang.support.models import CaseEvent, SupportCase


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    fields = ("at", "actor", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(SupportCase)
class SupportCaseAdmin(ReadOnly):
    list_display = ("case_no", "created_at", "merchant", "kind", "subject", "status")
    list_filter = ("status", "kind")
    search_fields = ("case_no", "merchant__merchant_no")
    readonly_fields = ("diagnosis",)
    inlines = [CaseEventInline]
