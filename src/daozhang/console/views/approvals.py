"""Approvals 待复核: requests waiting for a second staff member, and the decision page.

The list shows what each request would do in the words it was made with; the decision
page approves or rejects with a reason. Whether this user may decide is the service's
rule (approvals.services.refusal: not the maker, the kind's permission); the page only
hides the buttons by the same rule, and a hand-made POST gets the service's refusal.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from daozhang.approvals import services as approvals
from daozhang.approvals.models import ApprovalRequest, ApprovalStatus
from daozhang.console.forms import Field, Form
from daozhang.console.views.common import Done, handle
from daozhang.core import clock
from daozhang.core.errors import DomainError
from daozhang.settlement.accounts import REVIEW_KIND
from daozhang.web.access import staff_actor, staff_required

DECISION_REASON = Field("reason", "复核意见", "Reason", "textarea", help_zh="驳回时必填；将记入审计日志并告知申请方。",
                        help_en="Required to reject; kept in the audit log and shown to whoever asked.",
                        maxlength=300)


def _label(req: ApprovalRequest) -> tuple[str, str]:
    kind = approvals.kind_of(req.kind)
    return (kind.label_zh, kind.label_en) if kind else (req.kind, req.kind)


@staff_required("approvals.view_approvalrequest")
@require_GET
def approval_list(request: HttpRequest) -> HttpResponse:
    decided = request.GET.get("state") == "decided"
    qs = ApprovalRequest.objects.exclude(status=ApprovalStatus.PENDING).order_by("-decided_at")[:100] if decided \
        else ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING).order_by("created_at")[:500]
    now = clock.now()
    actor = staff_actor(request)
    rows = [{"r": r, "label": _label(r), "expired": r.status == ApprovalStatus.PENDING and r.expires_at <= now,
             "can_decide": approvals.refusal(r, request.user, actor) is None} for r in qs]
    return render(request, "console/approvals.html", {"section": "approvals", "rows": rows, "decided": decided})


@staff_required("approvals.view_approvalrequest")
def approval_detail(request: HttpRequest, request_id: uuid.UUID) -> HttpResponse:
    req = get_object_or_404(ApprovalRequest, id=request_id)
    actor = staff_actor(request)
    form = Form.bound((DECISION_REASON,), request.POST if request.method == "POST" else {})
    label = _label(req)

    def run() -> Done:
        decision = request.POST.get("decision", "")
        if decision == "approve":
            done = approvals.approve(request_id=req.id, user=request.user, actor=actor,
                                     reason=form["reason"])
            if done.kind == REVIEW_KIND:  # the bank verifies it next: start that job now
                from daozhang.settlement.tasks import verify_pending_accounts

                transaction.on_commit(verify_pending_accounts.enqueue)
            return (f"已批准：{req.summary_zh}", f"Approved: {req.summary_en}", reverse("console:approvals"))
        if decision == "reject":
            approvals.reject(request_id=req.id, user=request.user, actor=actor,
                             reason=form["reason"])
            return (f"已驳回：{req.summary_zh}", f"Rejected: {req.summary_en}", reverse("console:approvals"))
        raise DomainError("invalid", "decision")

    refused = approvals.refusal(req, request.user, actor)
    blocked: tuple[str, str] | None = None
    if req.status != ApprovalStatus.PENDING:
        blocked = ("此申请已处理，不能再批准或驳回。",
                   "This request is decided; it cannot be approved or rejected again.")
    elif refused is not None and request.method != "POST":
        blocked = (refused.message("zh-hans"), refused.message("en"))
    def local(at: object) -> str:
        return at.astimezone(clock.business_tz()).strftime("%Y-%m-%d %H:%M") if at else "—"  # type: ignore[attr-defined]

    summary = [("类型", "Kind", label), ("申请内容", "What it does", (req.summary_zh, req.summary_en)),
               ("申请人", "Asked by", req.maker), ("申请时间", "Asked at", local(req.created_at)),
               ("有效期至", "Expires", local(req.expires_at))]
    if req.status != ApprovalStatus.PENDING:
        summary += [("状态", "Status", req.get_status_display()), ("复核人", "Decided by", req.checker or "—"),
                    ("处理时间", "Decided at", local(req.decided_at)), ("意见", "Reason", req.reason or "—")]
    return handle(request, form, run, "console/approval.html", {
        "section": "approvals", "title_zh": "复核申请", "title_en": "Review a request", "req": req,
        "summary": summary, "blocked": blocked,
        "note_zh": "批准后立即执行（且只执行一次）；驳回则不执行，并告知申请方。",
        "note_en": "Approving does it at once (and only once); rejecting does nothing and tells whoever asked.",
        "cancel": reverse("console:approvals"),
    })
