"""Merchants: search, detail, onboarding, suspend and reactivate."""

from __future__ import annotations

import uuid

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from daozhang.access import twofactor
from daozhang.console.forms import REASON, Field, Form, choices
from daozhang.console.selectors import keyset
from daozhang.console.views.common import Done, handle
from daozhang.core.pan import carries_pan
from daozhang.merchants import services
from daozhang.merchants.models import (
    BankAccountType,
    FeePlan,
    Merchant,
    MerchantStatus,
    MerchantUser,
    SettlementAccount,
    SettlementCycle,
)
from daozhang.risk.models import RiskHold
from daozhang.settlement.models import Adjustment, SettlementBatch
from daozhang.terminals.models import Terminal
from daozhang.web.access import staff_actor, staff_required
from daozhang.web.parse import split_label

STATUS_OPTIONS = choices(MerchantStatus)


@staff_required("merchants.view_merchant")
@require_GET
def merchant_list(request: HttpRequest) -> HttpResponse:
    """Search by name (legal or short) or merchant number; sorted by merchant number."""
    q = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    qs = Merchant.objects.all()
    if q:
        qs = qs.filter(Q(merchant_no__startswith=q) | Q(legal_name__icontains=q) | Q(short_name__icontains=q))
    if status in MerchantStatus.values:
        qs = qs.filter(status=status)
    page = keyset(qs, ("merchant_no",), request.GET)
    return render(request, "console/merchants.html", {
        "section": "merchants", "page": page, "q": q, "status": status, "status_options": STATUS_OPTIONS})


@staff_required("merchants.view_merchant")
@require_GET
def merchant_detail(request: HttpRequest, merchant_id: uuid.UUID) -> HttpResponse:
    m = get_object_or_404(Merchant.objects.select_related("fee_plan"), id=merchant_id)
    accounts = list(SettlementAccount.objects.filter(merchant=m).order_by("-created_at")[:5])
    holds: list[RiskHold] = []
    if request.user.has_perm("risk.view_riskhold"):
        holds = list(RiskHold.objects.filter(merchant=m, released_at__isnull=True).order_by("-created_at")[:20])
    adjustments: list[Adjustment] = []
    if request.user.has_perm("settlement.view_adjustment"):
        adjustments = list(Adjustment.objects.filter(merchant=m).order_by("-created_at")[:10])
    return render(request, "console/merchant.html", {
        "section": "merchants", "m": m,
        "account": next((a for a in accounts if a.is_current), None),
        "changes": [a for a in accounts if not a.is_current],
        "terminals": Terminal.objects.filter(merchant=m).order_by("terminal_id")[:50],
        "batches": SettlementBatch.objects.filter(merchant=m).order_by("-settlement_date")[:10],
        "holds": holds, "adjustments": adjustments,
        "users": [(link, twofactor.enrolled(link.user)) for link in
                  MerchantUser.objects.filter(merchant=m).select_related("user").order_by("user__username")[:50]],
    })


ONBOARDING_FIELDS = (
    Field("legal_name", "商户全称（营业执照）", "Legal name (business licence)"),
    Field("short_name", "商户简称", "Short name", maxlength=60),
    Field("uscc", "统一社会信用代码", "Unified social credit code (USCC)", maxlength=18),
    Field("mcc", "商户类别码（MCC）", "Merchant category code (MCC)", maxlength=4),
    Field("region_code", "地区码（4 位）", "Region code (4 digits)", maxlength=4),
    Field("contact_name", "联系人", "Contact name", maxlength=60),
    Field("contact_phone", "联系人手机", "Contact mobile phone", maxlength=20),
    Field("contact_email", "联系人邮箱", "Contact e-mail", required=False),
    Field("address", "经营地址", "Business address", required=False),
    Field("settlement_cycle", "结算周期", "Settlement cycle", "select",
          options=tuple((c.value, c.label, c.label) for c in SettlementCycle)),
    Field("bank_account.holder_name", "结算账户户名", "Account holder name"),
    Field("bank_account.account_number", "结算账号", "Account number", maxlength=32),
    Field("bank_account.bank_name", "开户银行", "Bank name", maxlength=100),
    Field("bank_account.bank_branch_code", "联行号（CNAPS，可选）", "Branch code (CNAPS, optional)",
          required=False, maxlength=12),
    Field("bank_account.account_type", "账户类型", "Account type", "select",
          options=choices(BankAccountType)),
)


def _fee_plan_field() -> Field:
    plans = [(p.code, p.name, p.name) for p in FeePlan.objects.order_by("code")]
    if services.DEFAULT_FEE_PLAN not in {code for code, _, _ in plans}:
        plans.insert(0, (services.DEFAULT_FEE_PLAN, "标准费率", "Standard"))
    return Field("fee_plan", "费率方案", "Fee plan", "select", options=tuple(plans))


@carries_pan("bank_account.account_number")  # encrypted at rest (merchants.SettlementAccount), shown masked
@staff_required("merchants.view_merchant", "merchants.add_merchant")
def merchant_new(request: HttpRequest) -> HttpResponse:
    """Onboarding (商户入网): the service validates every field and writes nothing on error."""
    fields = (*ONBOARDING_FIELDS, _fee_plan_field())
    form = Form.bound(fields, request.POST if request.method == "POST" else {},
                      initial={"settlement_cycle": SettlementCycle.T1, "fee_plan": services.DEFAULT_FEE_PLAN,
                               "bank_account.account_type": BankAccountType.CORPORATE})

    def run() -> Done:
        bank = services.BankAccountInput(
            holder_name=form["bank_account.holder_name"], account_number=form["bank_account.account_number"],
            bank_name=form["bank_account.bank_name"], account_type=form["bank_account.account_type"],
            bank_branch_code=form["bank_account.bank_branch_code"])
        m = services.onboard_merchant(actor=staff_actor(request), data=services.OnboardingInput(
            legal_name=form["legal_name"], short_name=form["short_name"], uscc=form["uscc"], mcc=form["mcc"],
            region_code=form["region_code"], contact_name=form["contact_name"],
            contact_phone=form["contact_phone"], contact_email=form["contact_email"], address=form["address"],
            fee_plan=form["fee_plan"], settlement_cycle=form["settlement_cycle"], bank_account=bank))
        return (f"商户 {m.short_name} 已入网，商户号 {m.merchant_no}。",
                f"Merchant {m.short_name} onboarded as {m.merchant_no}.",
                reverse("console:merchant", args=[m.id]))

    return handle(request, form, run, "console/form.html", {
        "section": "merchants", "title_zh": "商户入网", "title_en": "Onboard a merchant",
        "submit_zh": "提交入网", "submit_en": "Onboard", "submit_id": "onboard-submit",
        "cancel": reverse("console:merchants"),
    })


_TARGETS: dict[str, tuple[str, str, str]] = {
    "suspended": ("暂停商户", "Suspend merchant", "suspend"),
    "active": ("恢复商户", "Reactivate merchant", "reactivate"),
}


@staff_required("merchants.view_merchant", "merchants.change_merchant")
def merchant_status(request: HttpRequest, merchant_id: uuid.UUID) -> HttpResponse:
    """Suspend or reactivate with a reason (closing is not offered: it cannot be undone)."""
    m = get_object_or_404(Merchant, id=merchant_id)
    default = "active" if m.status == MerchantStatus.SUSPENDED else "suspended"
    target = request.POST.get("status") or request.GET.get("to") or default
    zh, en, slug = _TARGETS.get(target, _TARGETS[default])
    fields = (Field("status", "新状态", "New status", "select",
                    options=tuple(o for o in STATUS_OPTIONS if o[0] in _TARGETS)), REASON)
    form = Form.bound(fields, request.POST if request.method == "POST" else {}, initial={"status": target})

    def run() -> Done:
        form.require("reason")
        done = services.set_merchant_status(merchant_id=m.id, status=form["status"], actor=staff_actor(request),
                                            reason=form["reason"])
        zh, en = split_label(MerchantStatus(done.status).label)
        return (f"{m.short_name}（{m.merchant_no}）状态已改为：{zh}。",
                f"{m.short_name} ({m.merchant_no}) is now {en.lower()}.",
                reverse("console:merchant", args=[m.id]))

    return handle(request, form, run, "console/form.html", {
        "section": "merchants", "title_zh": f"{zh}：{m.short_name}", "title_en": f"{en}: {m.short_name}",
        "summary": [("商户号", "Merchant no.", m.merchant_no),
                    ("当前状态", "Current status", split_label(MerchantStatus(m.status).label))],
        "submit_zh": zh, "submit_en": en, "submit_id": f"merchant-{slug}-submit",
        "cancel": reverse("console:merchant", args=[m.id]),
    })
