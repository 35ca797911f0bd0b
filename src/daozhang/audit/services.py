"""Writing the audit log, always inside the transaction of the change it records."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from daozhang.audit.chain import GENESIS, chain_key, normalise, row_hash
from daozhang.audit.models import AuditEvent
from daozhang.core.ids import PLATFORM_ID, new_id

# The chain's head, advanced and locked in one statement (a row lock on PostgreSQL, held to
# COMMIT: the next writer of the same chain waits, writers of other chains do not).
_ADVANCE = "UPDATE audit_auditchain SET seq = seq + 1 WHERE chain = %s RETURNING seq, hash"
_CREATE = "INSERT INTO audit_auditchain (chain, seq, hash) VALUES (%s, 0, %s) ON CONFLICT (chain) DO NOTHING"
_SET_HASH = "UPDATE audit_auditchain SET hash = %s WHERE chain = %s"


def record(*, actor: str, action: str, obj_type: str, obj_id: object,
           merchant_id: uuid.UUID | None = None, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None) -> None:
    """Append one event to its merchant's chain (or the platform's), in the caller's
    transaction when there is one (its own otherwise)."""
    key = chain_key(merchant_id)
    before, after = normalise(before), normalise(after)
    with transaction.atomic(savepoint=False), connection.cursor() as cur:
        cur.execute(_ADVANCE, [key])
        row = cur.fetchone()
        if row is None:  # the chain's first event
            cur.execute(_CREATE, [key, GENESIS])
            cur.execute(_ADVANCE, [key])
            row = cur.fetchone()
        seq, prev = int(row[0]), row[1]
        event = AuditEvent(id=new_id(), at=timezone.now(), actor=actor, action=action, object_type=obj_type,
                           object_id=str(obj_id), merchant_id=merchant_id or PLATFORM_ID, before=before,
                           after=after,
                           seq=seq, prev_hash=prev)
        event.hash = row_hash(id=event.id, at=event.at, actor=actor, action=action, object_type=obj_type,
                              object_id=event.object_id, merchant_id=merchant_id, before=before, after=after,
                              seq=seq, prev_hash=prev)
        event.save(force_insert=True)
        cur.execute(_SET_HASH, [event.hash, key])
