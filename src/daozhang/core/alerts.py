"""Raising and resolving staff alerts (shown in the console). Jobs raise and resolve them
without an audit record (a job is not a person); a person resolving one is audited
(`audit.alerts.resolve_by_staff`, above core: core imports no domain)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from daozhang.core.models import Alert

# Alerts that clear themselves when their cause is fixed: the console shows what fixes
# them instead of a "resolve" button that would only hide a problem still there.
# kind → (中文, English, command to run, if any)
SELF_RESOLVING: dict[str, tuple[str, str, str]] = {
    "calendar_gap": ("导入该年官方放假安排后自动关闭，在服务器上运行：",
                     "Closes by itself once the year's official schedule is loaded; on the server run:",
                     "daozhang calendar load FILE"),
    "account_unreadable": ("把加密该账号的原密钥加回 DAOZHANG_FIELD_KEYS（新密钥在前）并重启，"
                           "出款即自动恢复，然后运行：",
                           "Closes by itself once the account's payout is sent: put the key it was encrypted under "
                           "back in DAOZHANG_FIELD_KEYS (after the new one), restart, then run:",
                           "daozhang rotate_field_keys"),
    "payout_stuck": ("银行受理该笔出款后自动关闭；请联系银行或检查出款通道。",
                     "Closes by itself once the bank accepts the payout; contact the bank or check the payout channel.",
                     ""),
}
# Alerts a person closes after acting: what to do first.
TO_DO: dict[str, tuple[str, str, str]] = {
    "settlement_behind": ("先逐日补结算，再关闭告警：", "Settle the missed days first, then resolve:",
                          "daozhang settle --date D"),
}


def raise_alert(kind: str, key: str, *, en: str, zh: str) -> None:
    updated = Alert.objects.filter(kind=kind, key=key, resolved_at__isnull=True).update(
        message_en=en, message_zh=zh, raised_at=timezone.now())
    if not updated:
        try:
            with transaction.atomic():
                Alert.objects.create(kind=kind, key=key, message_en=en, message_zh=zh)
        except IntegrityError:
            pass  # raised concurrently by another process: one open alert is enough


def resolve_alert(kind: str, key: str) -> None:
    resolve_alerts(kind, [key])


def resolve_alerts(kind: str, keys: list[str]) -> None:
    """Resolve the open alerts of `kind` for these keys (one statement, however many)."""
    if keys:
        Alert.objects.filter(kind=kind, key__in=keys, resolved_at__isnull=True).update(resolved_at=timezone.now())


def open_alerts(kind: str | None = None) -> list[Alert]:
    qs = Alert.objects.filter(resolved_at__isnull=True)
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.order_by("-raised_at"))
