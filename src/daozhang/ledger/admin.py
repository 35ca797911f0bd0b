"""Read-only views of the ledger for finance staff: the ledger is written by services only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from daozhang.ledger.models import Account, Entry, Posting


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ReadOnly):
    list_display = ("code", "type", "purpose", "balance", "currency")
    list_filter = ("type", "purpose")
    search_fields = ("code",)


class PostingInline(admin.TabularInline):
    model = Posting
    fields = ("account", "amount", "currency")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Entry)
class EntryAdmin(ReadOnly):
    list_display = ("created_at", "kind", "business_ref", "business_date")
    list_filter = ("kind", "business_date")
    search_fields = ("business_ref", "idempotency_key")
    inlines = [PostingInline]
