from __future__ import annotations

from django.contrib import admin

from daozhang.audit.models import AuditEvent
from daozhang.core.admin import ReadOnly


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnly):
    """Append-only: nobody edits or deletes the audit trail, not even superusers."""

    list_display = ("at", "actor", "action", "object_type", "object_id")
    list_filter = ("action", "object_type")
    search_fields = ("actor", "object_id", "action")
