from __future__ import annotations

from django.contrib import admin

from daozhang.core.admin import ReadOnly
from daozhang.merchants.models import FeePlan, Merchant, SettlementAccount


class SettlementAccountInline(admin.TabularInline):
    model = SettlementAccount
    fields = ("holder_name", "bank_name", "account_type", "is_current", "verified_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Merchant)
class MerchantAdmin(ReadOnly):
    """Onboarding and status changes go through the audited services (API / console pages)."""

    list_display = ("merchant_no", "short_name", "legal_name", "mcc", "settlement_cycle", "status")
    list_filter = ("status", "settlement_cycle", "mcc")
    search_fields = ("merchant_no", "legal_name", "short_name", "uscc")
    inlines = [SettlementAccountInline]


@admin.register(FeePlan)
class FeePlanAdmin(ReadOnly):
    list_display = ("code", "name", "wallet_rate_ppm", "quickpass_rate_ppm", "debit_rate_ppm", "debit_cap_fen",
                    "credit_rate_ppm")
