"""Writing the audit log, always inside the transaction of the change it records."""

from __future__ import annotations

import uuid
from typing import Any

from daozhang.audit.models import AuditEvent


def record(*, actor: str, action: str, obj_type: str, obj_id: object,
           merchant_id: uuid.UUID | None = None, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None) -> None:
    AuditEvent.objects.create(
        actor=actor, action=action, object_type=obj_type, object_id=str(obj_id),
        merchant_id=merchant_id, before=before, after=after,
    )
