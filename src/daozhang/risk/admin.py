from __future__ import annotations

from django.contrib import admin

from daozhang.core.admin import ReadOnly
from daozhang.risk.models import RiskHold


@admin.register(RiskHold)
class RiskHoldAdmin(ReadOnly):
    list_display = ("created_at", "merchant", "amount", "case_ref", "reason", "created_by", "released_at")
    list_filter = (("released_at", admin.EmptyFieldListFilter),)
    search_fields = ("case_ref", "merchant__merchant_no")
