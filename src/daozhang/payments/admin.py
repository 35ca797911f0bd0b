from __future__ import annotations

from django.contrib import admin

from daozhang.core.admin import ReadOnly
from daozhang.payments.models import Payment, PaymentEvent, Reversal


class EventInline(admin.TabularInline):
    model = PaymentEvent
    fields = ("at", "kind", "response_code", "detail")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Payment)
class PaymentAdmin(ReadOnly):
    """Payments change only through their services (void, reversal), never by editing."""

    list_display = ("created_at", "merchant", "terminal", "channel", "amount", "fee", "status", "response_code",
                    "masked_pan", "rrn")
    list_filter = ("status", "channel", "entry_mode", "business_date")
    search_fields = ("rrn", "stan", "last4", "channel_txn_id", "merchant__merchant_no")
    list_select_related = ("merchant", "terminal")
    inlines = [EventInline]
    show_full_result_count = False


@admin.register(Reversal)
class ReversalAdmin(ReadOnly):
    list_display = ("created_at", "merchant", "terminal", "original_stan", "outcome", "source")
    list_filter = ("outcome", "source")
