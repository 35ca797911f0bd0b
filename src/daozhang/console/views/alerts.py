"""Open alerts: calendar gaps, payouts stuck on a bank outage, and whatever jobs raise."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from daozhang.audit.alerts import resolve_by_staff
from daozhang.console.forms import Field, Form
from daozhang.console.views.common import Done, handle
from daozhang.core import alerts
from daozhang.core.alerts import open_alerts
from daozhang.core.models import Alert
from daozhang.web.access import staff_actor, staff_required

NOTE = Field("note", "处理说明", "What was done", "textarea", help_zh="将记入审计日志。",
             help_en="Kept in the audit log.", maxlength=300)


@staff_required("core.view_alert")
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    rows = [{"alert": a, "auto": alerts.SELF_RESOLVING.get(a.kind), "todo": alerts.TO_DO.get(a.kind)}
            for a in open_alerts()]
    return render(request, "console/alerts.html", {"section": "alerts", "rows": rows})


@staff_required("core.view_alert", "core.change_alert")
def alert_resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(Alert, id=alert_id)
    form = Form.bound((NOTE,), request.POST if request.method == "POST" else {})

    def run() -> Done:
        resolve_by_staff(alert_id=alert.id, note=form["note"], actor=staff_actor(request))
        return (f"告警 {alert.kind} {alert.key} 已关闭。", f"Alert {alert.kind} {alert.key} resolved.",
                reverse("console:alerts"))

    auto = alerts.SELF_RESOLVING.get(alert.kind)
    todo = alerts.TO_DO.get(alert.kind)
    return handle(request, form, run, "console/form.html", {
        "blocked": auto, "command": (auto or todo or ("", "", ""))[2],
        "section": "alerts", "title_zh": "关闭告警", "title_en": "Resolve alert",
        "summary": [("类型", "Kind", alert.kind), ("对象", "Key", alert.key),
                    ("内容", "Message", f"{alert.message_zh} / {alert.message_en}")],
        "note_zh": "若问题仍在，系统会再次发出告警。" + (todo[0] if todo else ""),
        "note_en": "If the problem is still there, the alert is raised again." + (" " + todo[1] if todo else ""),
        "submit_zh": "关闭告警", "submit_en": "Resolve", "submit_id": "alert-resolve-submit",
        "cancel": reverse("console:alerts"),
    })
