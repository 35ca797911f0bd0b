"""Terminals: search, register into stock, bind to a merchant, change status."""

from __future__ import annotations

import uuid

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from daozhang.console.forms import REASON, Field, Form, choices
from daozhang.console.selectors import keyset
from daozhang.console.views.common import Done, handle
from daozhang.core.errors import DomainError
from daozhang.merchants.models import Merchant
from daozhang.terminals import services
from daozhang.terminals.models import TRANSITIONS, Terminal, TerminalStatus
from daozhang.web.access import staff_actor, staff_required
from daozhang.web.parse import split_label


def _label(status: str) -> tuple[str, str]:
    return split_label(TerminalStatus(status).label)


STATUS_OPTIONS = choices(TerminalStatus)


@staff_required("terminals.view_terminal")
@require_GET
def terminal_list(request: HttpRequest) -> HttpResponse:
    """Search by serial number, terminal id or merchant number; sorted by serial number."""
    q = request.GET.get("q", "").strip().upper()
    status = request.GET.get("status", "")
    qs = Terminal.objects.select_related("merchant")
    if q:
        qs = qs.filter(Q(serial_number__startswith=q) | Q(terminal_id__startswith=q)
                       | Q(merchant__merchant_no__startswith=q))
    if status in TerminalStatus.values:
        qs = qs.filter(status=status)
    page = keyset(qs, ("serial_number",), request.GET)
    return render(request, "console/terminals.html", {
        "section": "terminals", "page": page, "q": q, "status": status, "status_options": STATUS_OPTIONS})


REGISTER_FIELDS = (
    Field("serial_number", "序列号（SN）", "Serial number (SN)", maxlength=40,
          help_zh="6–40 位大写字母、数字或连字符。", help_en="6–40 capital letters, digits or hyphens."),
    Field("terminal_id", "终端号（TID，8 位）", "Terminal id (TID, 8 characters)", maxlength=8),
    Field("model", "型号", "Model", required=False, maxlength=60),
)


@staff_required("terminals.view_terminal", "terminals.add_terminal")
def terminal_new(request: HttpRequest) -> HttpResponse:
    form = Form.bound(REGISTER_FIELDS, request.POST if request.method == "POST" else {})

    def run() -> Done:
        t = services.register_terminal(serial_number=form["serial_number"], terminal_id=form["terminal_id"],
                                       model=form["model"], actor=staff_actor(request))
        return (f"终端 {t.terminal_id}（{t.serial_number}）已入库。",
                f"Terminal {t.terminal_id} ({t.serial_number}) is in stock.",
                reverse("console:terminals") + f"?q={t.serial_number}")

    return handle(request, form, run, "console/form.html", {
        "section": "terminals", "title_zh": "终端入库", "title_en": "Register a terminal",
        "submit_zh": "入库", "submit_en": "Register", "submit_id": "terminal-register-submit",
        "cancel": reverse("console:terminals"),
    })


BIND_FIELDS = (
    Field("merchant_no", "商户号", "Merchant number", maxlength=15),
    Field("install_address", "装机地址", "Installation address", required=False),
)


@staff_required("terminals.view_terminal", "terminals.change_terminal")
def terminal_bind(request: HttpRequest, terminal_pk: uuid.UUID) -> HttpResponse:
    t = get_object_or_404(Terminal, id=terminal_pk)
    form = Form.bound(BIND_FIELDS, request.POST if request.method == "POST" else {},
                      aliases={"merchant_id": "merchant_no"})

    def run() -> Done:
        merchant = Merchant.objects.filter(merchant_no=form["merchant_no"]).first()
        if merchant is None:
            raise DomainError("unknown_merchant", "merchant_no")
        done = services.bind_terminal(terminal_id=t.id, merchant_id=merchant.id,
                                      install_address=form["install_address"], actor=staff_actor(request))
        return (f"终端 {done.terminal_id} 已绑定商户 {merchant.short_name}（{merchant.merchant_no}）。",
                f"Terminal {done.terminal_id} is bound to {merchant.short_name} ({merchant.merchant_no}).",
                reverse("console:terminals") + f"?q={done.serial_number}")

    return handle(request, form, run, "console/form.html", {
        "section": "terminals", "title_zh": f"绑定终端 {t.terminal_id}", "title_en": f"Bind terminal {t.terminal_id}",
        "summary": [("序列号", "Serial number", t.serial_number), ("型号", "Model", t.model or "—"),
                    ("状态", "Status", _label(t.status))],
        "submit_zh": "绑定", "submit_en": "Bind", "submit_id": "terminal-bind-submit",
        "cancel": reverse("console:terminals"),
    })


@staff_required("terminals.view_terminal", "terminals.change_terminal")
def terminal_status(request: HttpRequest, terminal_pk: uuid.UUID) -> HttpResponse:
    """Activate, suspend, unbind (back to stock) or retire; only moves the lifecycle allows."""
    t = get_object_or_404(Terminal.objects.select_related("merchant"), id=terminal_pk)
    allowed = [s for s in TerminalStatus if s.value in TRANSITIONS[t.status] and s != TerminalStatus.BOUND]
    fields = (Field("status", "新状态", "New status", "select",
                    options=tuple((s.value, *_label(s.value)) for s in allowed)),
              REASON)
    form = Form.bound(fields, request.POST if request.method == "POST" else {},
                      initial={"status": request.GET.get("to", allowed[0].value if allowed else "")})

    def run() -> Done:
        form.require("reason")
        done = services.set_terminal_status(terminal_id=t.id, status=form["status"], actor=staff_actor(request),
                                            reason=form["reason"])
        zh, en = _label(done.status)
        return (f"终端 {done.terminal_id} 状态已改为：{zh}。", f"Terminal {done.terminal_id} is now: {en}.",
                reverse("console:terminals") + f"?q={done.serial_number}")

    return handle(request, form, run, "console/form.html", {
        "section": "terminals", "title_zh": f"变更终端状态 {t.terminal_id}",
        "title_en": f"Change terminal status {t.terminal_id}",
        "summary": [("序列号", "Serial number", t.serial_number),
                    ("商户", "Merchant", str(t.merchant) if t.merchant else "—"),
                    ("当前状态", "Current status", _label(t.status))],
        "submit_zh": "变更状态", "submit_en": "Change status", "submit_id": "terminal-status-submit",
        "cancel": reverse("console:terminals"), "no_options": not allowed,
    })
