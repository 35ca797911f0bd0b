"""Funds frozen by risk (冻结/解冻) and manual adjustments (人工调账), from a merchant's page.

Both post to the ledger through their services (risk.services, settlement.adjustments),
which write the audit record and notify the merchant in the same transaction.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse

from daozhang.approvals.models import ApprovalRequest
from daozhang.console.forms import REASON, Field, Form
from daozhang.console.views.common import Done, handle
from daozhang.core.money import Money
from daozhang.ledger.selectors import merchant_payable_balance
from daozhang.merchants.models import Merchant
from daozhang.risk.models import RiskHold
from daozhang.risk.services import hold_funds, release_hold
from daozhang.settlement.adjustments import adjust, approval_limit
from daozhang.web.access import staff_actor, staff_required
from daozhang.web.parse import parse_yuan

HOLD_FIELDS = (
    Field("amount", "冻结金额（元）", "Amount to freeze (yuan)", maxlength=16, help_zh="如 500 或 1280.50",
          help_en="e.g. 500 or 1280.50"),
    Field("case_ref", "风控案件号", "Risk case reference", maxlength=40),
    REASON,
)
RELEASE_FIELDS = (Field("note", "解冻说明", "Release note", "textarea", maxlength=300,
                        help_zh="将记入审计日志并通知商户。", help_en="Kept in the audit log; the merchant is told."),)
ADJUST_FIELDS = (
    Field("amount", "调账金额（元）", "Amount (yuan)", maxlength=17,
          help_zh="正数调增（补给商户），负数调减（从商户扣除），如 -19.00",
          help_en="Positive credits the merchant, negative deducts, e.g. -19.00"),
    REASON,
)


def _merchant_summary(m: Merchant) -> list[tuple[str, str, str]]:
    return [("商户", "Merchant", f"{m.short_name}（{m.merchant_no}）"),
            ("未结算资金", "Unsettled funds", Money(merchant_payable_balance(m.id)).display())]


@staff_required("merchants.view_merchant", "risk.add_riskhold")
def hold_new(request: HttpRequest, merchant_id: uuid.UUID) -> HttpResponse:
    m = get_object_or_404(Merchant, id=merchant_id)
    form = Form.bound(HOLD_FIELDS, request.POST if request.method == "POST" else {})

    def run() -> Done:
        fen = parse_yuan(form["amount"], "amount")
        h = hold_funds(merchant_id=m.id, amount=fen, case_ref=form["case_ref"], reason=form["reason"],
                       actor=staff_actor(request))
        shown = Money(h.amount).display()
        return (f"已冻结 {m.short_name} 的 {shown}（案件 {h.case_ref}）。",
                f"{shown} of {m.short_name}'s funds frozen (case {h.case_ref}).",
                reverse("console:merchant", args=[m.id]))

    return handle(request, form, run, "console/form.html", {
        "section": "merchants", "title_zh": "冻结资金", "title_en": "Freeze funds", "summary": _merchant_summary(m),
        "note_zh": "冻结的金额不参与结算，直到解冻；商户会收到通知。",
        "note_en": "Frozen money is left out of settlement until released; the merchant is told.",
        "submit_zh": "确认冻结", "submit_en": "Freeze", "submit_id": "hold-funds-submit",
        "cancel": reverse("console:merchant", args=[m.id]),
    })


@staff_required("risk.view_riskhold", "risk.change_riskhold")
def hold_release(request: HttpRequest, hold_id: uuid.UUID) -> HttpResponse:
    h = get_object_or_404(RiskHold.objects.select_related("merchant"), id=hold_id, released_at__isnull=True)
    m = h.merchant
    form = Form.bound(RELEASE_FIELDS, request.POST if request.method == "POST" else {})

    def run() -> Done:
        form.require("note")
        release_hold(hold_id=h.id, note=form["note"], actor=staff_actor(request))
        shown = Money(h.amount).display()
        return (f"已解冻 {m.short_name} 的 {shown}（案件 {h.case_ref}）。",
                f"{shown} of {m.short_name}'s funds released (case {h.case_ref}).",
                reverse("console:merchant", args=[m.id]))

    return handle(request, form, run, "console/form.html", {
        "section": "merchants", "title_zh": "解冻资金", "title_en": "Release frozen funds",
        "summary": [("商户", "Merchant", f"{m.short_name}（{m.merchant_no}）"),
                    ("金额", "Amount", Money(h.amount).display()), ("案件", "Case", h.case_ref),
                    ("冻结原因", "Reason", h.reason), ("冻结人", "Frozen by", h.created_by)],
        "note_zh": "解冻的金额进入下一次结算。", "note_en": "Released money is paid with the next settlement.",
        "submit_zh": "确认解冻", "submit_en": "Release", "submit_id": "release-submit",
        "cancel": reverse("console:merchant", args=[m.id]),
    })


@staff_required("merchants.view_merchant", "settlement.add_adjustment")
def adjustment_new(request: HttpRequest, merchant_id: uuid.UUID) -> HttpResponse:
    m = get_object_or_404(Merchant, id=merchant_id)
    form = Form.bound(ADJUST_FIELDS, request.POST if request.method == "POST" else {})

    def run() -> Done:
        fen = parse_yuan(form["amount"], "amount", signed=True)
        form.require("reason")
        a = adjust(merchant_id=m.id, amount=fen, reason=form["reason"], actor=staff_actor(request),
                   actor_user_id=request.user.pk)
        shown = Money(fen or 0).display()
        if isinstance(a, ApprovalRequest):  # above the single-approver limit: nothing booked yet
            return (f"{m.short_name} 的 {shown} 调账超过单人上限，已提交另一位员工复核（待复核），批准前不入账。",
                    f"The adjustment of {shown} for {m.short_name} is above the single-approver limit: sent to a "
                    "second staff member (Approvals); nothing is booked until it is approved.",
                    reverse("console:approval", args=[a.id]))
        return (f"已对 {m.short_name} 调账 {shown}，随 {a.settlement_date} 的结算支付。",
                f"Adjustment of {shown} for {m.short_name}, paid with the settlement of {a.settlement_date}.",
                reverse("console:merchant", args=[m.id]))

    limit = Money(approval_limit()).display()
    return handle(request, form, run, "console/form.html", {
        "section": "merchants", "title_zh": "人工调账", "title_en": "Manual adjustment",
        "summary": _merchant_summary(m),
        "note_zh": f"调账记入账本，随下一次结算支付或扣除；商户会收到通知。金额超过 {limit} 的调账须另一位员工复核，"
                   "批准后才入账。",
        "note_en": "The adjustment is posted to the ledger and paid or deducted with the next settlement; "
                   f"the merchant is told. Above {limit} it waits for a second staff member's approval and is "
                   "booked only then.",
        "submit_zh": "确认调账", "submit_en": "Post adjustment", "submit_id": "adjustment-submit",
        "cancel": reverse("console:merchant", args=[m.id]),
    })
