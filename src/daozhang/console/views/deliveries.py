"""The delivery log: every outbox delivery (an event for one subscriber), and for the
notification subscribers the message it became: where it went (masked), by which
provider, how often it was tried and why it failed. Failed and dead ones can be retried
at once (audited)."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from daozhang.console.forms import Field, Form
from daozhang.console.selectors import keyset
from daozhang.console.views.common import Done, handle
from daozhang.core.events import with_events
from daozhang.core.models import DeliveryStatus, OutboxDelivery
from daozhang.merchants.models import Merchant
from daozhang.notifications.models import Notification
from daozhang.notifications.services import retry_delivery
from daozhang.notifications.subscribers import channel_of
from daozhang.web.access import staff_actor, staff_required

STATES = (("", "全部", "All"), ("failed", "失败重试中", "Failing, retrying"), ("dead", "已放弃", "Gave up"),
          ("pending", "待投递", "Pending"), ("done", "已投递", "Delivered"))
RETRYABLE = (DeliveryStatus.FAILED, DeliveryStatus.DEAD)
NOTE = Field("note", "说明", "Why retry now", "textarea", help_zh="将记入审计日志。",
             help_en="Kept in the audit log.", maxlength=300)


def _rows(deliveries: list[OutboxDelivery]) -> list[dict[str, object]]:
    notes = {(n.event_id, n.channel): n for n in Notification.objects.filter(
        event_id__in={d.event_id for d in deliveries})}
    numbers = dict(Merchant.objects.filter(id__in={d.event.merchant_id for d in deliveries if d.event.merchant_id})
                   .values_list("id", "merchant_no"))
    return [{"d": d, "n": notes.get((d.event_id, channel_of(d.subscriber) or "")),
             "merchant_no": numbers.get(d.event.merchant_id, "") if d.event.merchant_id else "",
             "can_retry": d.status in RETRYABLE} for d in deliveries]


@staff_required("core.view_outboxdelivery")
@require_GET
def delivery_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    if state not in {s for s, _, _ in STATES}:
        state = ""
    qs = OutboxDelivery.objects.all()
    if state:
        qs = qs.filter(status=state)
    page = keyset(qs, ("-id",), request.GET)  # ids are time-ordered: newest first
    return render(request, "console/deliveries.html", {"section": "deliveries", "page": page, "state": state,
                                                       "states": STATES, "rows": _rows(with_events(page.rows))})


@staff_required("core.view_outboxdelivery", "core.change_outboxdelivery")
def delivery_retry(request: HttpRequest, delivery_id: uuid.UUID) -> HttpResponse:
    d = with_events([get_object_or_404(OutboxDelivery, id=delivery_id)])[0]
    form = Form.bound((NOTE,), request.POST if request.method == "POST" else {})

    def run() -> Done:
        retry_delivery(delivery_id=d.id, actor=staff_actor(request), note=form["note"])
        return (f"已重新投递 {d.event.kind} → {d.subscriber}。", f"{d.event.kind} → {d.subscriber} is due again.",
                reverse("console:deliveries") + "?state=pending")

    return handle(request, form, run, "console/form.html", {
        "section": "deliveries", "title_zh": "立即重试", "title_en": "Retry now",
        "blocked": None if d.status in RETRYABLE else ("只有失败或已放弃的投递可以重试。",
                                                        "Only failed or dead deliveries can be retried."),
        "summary": [("事件", "Event", f"{d.event.kind} {d.event.id}"), ("订阅者", "Subscriber", d.subscriber),
                    ("尝试次数", "Attempts", str(d.attempts)), ("错误", "Error", d.last_error or "—")],
        "note_zh": "确认后立即重新投递，尝试次数从零计起。",
        "note_en": "It is delivered again at once, with the count of attempts started afresh.",
        "submit_zh": "立即重试", "submit_en": "Retry now", "submit_id": "retry-submit",
        "cancel": reverse("console:deliveries"),
    })
