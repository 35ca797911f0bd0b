"""Support cases: the queue by status, a case with its diagnosis and history, notes, status."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from daozhang.console.forms import Field, Form, choices
from daozhang.console.selectors import keyset
from daozhang.core.errors import DomainError
from daozhang.support import services as support
from daozhang.support.models import CaseStatus, SupportCase
from daozhang.web.access import staff_actor, staff_required
from daozhang.web.parse import say, split_label


def _label(status: str) -> tuple[str, str]:
    return split_label(CaseStatus(status).label)


STATUS_OPTIONS = choices(CaseStatus)
TABS = (("active", "未结", "Not resolved"), *STATUS_OPTIONS, ("all", "全部", "All"))
NOTE_FORM = (Field("note", "备注", "Note", "textarea", maxlength=2000),)
STATUS_FORM = (Field("status", "新状态", "New status", "select", options=STATUS_OPTIONS),
               Field("status_note", "说明", "Note", "textarea", maxlength=2000,
                     help_zh="标记为已解决时，此说明将以短信/邮件发给商户。",
                     help_en="When resolving, this note is sent to the merchant by SMS / e-mail."))


@staff_required("support.view_supportcase")
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("status", "active")
    qs = SupportCase.objects.select_related("merchant")
    if tab in CaseStatus.values:
        qs = qs.filter(status=tab)
    elif tab != "all":
        tab = "active"
        qs = qs.exclude(status=CaseStatus.RESOLVED)
    page = keyset(qs, ("-created_at", "-id"), request.GET)
    return render(request, "console/cases.html", {"section": "cases", "page": page, "tab": tab, "tabs": TABS})


def _detail(request: HttpRequest, case: SupportCase, note: Form, status: Form, code: int = 200) -> HttpResponse:
    diagnosis: dict[str, Any] = case.diagnosis if isinstance(case.diagnosis, dict) else {"value": case.diagnosis}
    return render(request, "console/case.html", {
        "section": "cases", "case": case, "events": case.events.order_by("at", "id"),
        "diagnosis": diagnosis, "note_form": note, "status_form": status,
    }, status=code)


def _case(case_id: uuid.UUID) -> SupportCase:
    return get_object_or_404(SupportCase.objects.select_related("merchant"), id=case_id)


@staff_required("support.view_supportcase")
@require_GET
def case_detail(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _case(case_id)
    status = Form.bound(STATUS_FORM, {}, initial={"status": case.status})
    return _detail(request, case, Form.bound(NOTE_FORM, {}), status)


@staff_required("support.view_supportcase", "support.change_supportcase")
@require_POST
def case_note(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _case(case_id)
    note = Form.bound(NOTE_FORM, request.POST)
    try:
        support.add_case_note(case_id=case.id, note=note["note"], actor=staff_actor(request))
    except DomainError as exc:
        if exc.status == 404:
            raise Http404(exc.code) from exc
        note.add_error(request, exc)
        return _detail(request, case, note, Form.bound(STATUS_FORM, {}, initial={"status": case.status}), 400)
    messages.success(request, say(request, f"已为工单 {case.case_no} 添加备注。",
                                  f"Note added to case {case.case_no}."))
    return HttpResponseRedirect(reverse("console:case", args=[case.id]))


@staff_required("support.view_supportcase", "support.change_supportcase")
@require_POST
def case_status(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _case(case_id)
    form = Form.bound(STATUS_FORM, request.POST, aliases={"note": "status_note"})
    try:
        done = support.set_case_status(case_id=case.id, status=form["status"], note=form["status_note"],
                                        actor=staff_actor(request))
    except DomainError as exc:
        if exc.status == 404:
            raise Http404(exc.code) from exc
        form.add_error(request, exc)
        return _detail(request, case, Form.bound(NOTE_FORM, {}), form, 400)
    zh, en = _label(done.status)
    messages.success(request, say(request, f"工单 {case.case_no} 状态已改为：{zh}。",
                                  f"Case {case.case_no} is now: {en}."))
    return HttpResponseRedirect(reverse("console:case", args=[case.id]))
