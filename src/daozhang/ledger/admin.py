"""Read-only views of the ledger for finance staff: the ledger is written by services only."""

from __future__ import annotations

from django.contrib import admin

from daozhang.core.admin import ReadOnly
from daozhang.ledger.models import Account, Entry, Posting


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
