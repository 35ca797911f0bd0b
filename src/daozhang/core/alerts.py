"""Raising and resolving staff alerts (shown in the console)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from daozhang.core.models import Alert


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
