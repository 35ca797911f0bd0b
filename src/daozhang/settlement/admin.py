from __future__ import annotations

from django.contrib import admin

from daozhang.core.admin import ReadOnly
from daozhang.settlement.models import Adjustment, Payout, SettlementBatch


class PayoutInline(admin.TabularInline):
    model = Payout
    fields = ("attempt", "amount", "status", "bank_ref", "return_code", "return_reason", "submitted_at",
              "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(SettlementBatch)
class SettlementBatchAdmin(ReadOnly):
    """Batches change only through settlement, payouts and the audited hold / re-pay actions."""

    list_display = ("settlement_date", "merchant", "cycle", "payout_date", "net", "status")
    list_filter = ("status", "cycle", "settlement_date")
    search_fields = ("merchant__merchant_no",)
    list_select_related = ("merchant",)
    inlines = [PayoutInline]


@admin.register(Payout)
class PayoutAdmin(ReadOnly):
    list_display = ("created_at", "merchant", "attempt", "amount", "status", "return_code", "bank_ref")
    # Not Django's default select_related() of every key: the batch and account joins are on
    # their id alone, which a database distributed by merchant cannot run on one shard.
    list_select_related = ("merchant",)
    list_filter = ("status", "return_code")
    search_fields = ("merchant__merchant_no", "bank_ref")


@admin.register(Adjustment)
class AdjustmentAdmin(ReadOnly):
    list_display = ("created_at", "merchant", "amount", "reason", "created_by", "settlement_date")
    list_select_related = ("merchant",)
