"""Staff closing an alert by hand: the one alert change a person makes, so it is audited."""

from __future__ import annotations

from django.db import transaction

from daozhang.audit import services as audit
from daozhang.core.alerts import SELF_RESOLVING, resolve_alert
from daozhang.core.errors import DomainError
from daozhang.core.models import Alert


def resolve_by_staff(*, alert_id: int, note: str, actor: str) -> Alert:
    """Close an alert a person has dealt with (self-resolving kinds are refused)."""
    text = (note or "").strip()[:300]
    if not text:
        raise DomainError("required", "note")
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(id=alert_id).first()
        if alert is None:
            raise DomainError("not_found", "alert_id", status=404)
        if alert.resolved_at is not None:
            raise DomainError("bad_transition", "status", {"current": "resolved", "target": "resolved"}, 409)
        if alert.kind in SELF_RESOLVING:
            raise DomainError("invalid", "kind")
        resolve_alert(alert.kind, alert.key)
        audit.record(actor=actor, action="alert.resolve", obj_type="alert", obj_id=alert.id,
                     before={"kind": alert.kind, "key": alert.key, "resolved": False,
                             "message": alert.message_en},
                     after={"resolved": True, "note": text})
        alert.refresh_from_db()
    return alert
