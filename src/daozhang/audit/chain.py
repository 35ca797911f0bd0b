"""The audit log's hash chains: one per merchant, one for the platform (its rows carry the
platform tenant's id, `core.ids.PLATFORM_ID`; before audit 0004, NULL).

Why chains: the database refuses UPDATE and DELETE of audit rows (audit 0003), but whoever
owns the tables (or holds the SQLite file) can drop a trigger. Each row therefore carries
its place in its chain (`seq`, 1, 2, 3…), the hash of the row before it (`prev_hash`) and
its own hash: SHA-256 over `prev_hash` and a canonical serialisation of its own fields.
Editing a row changes its hash; deleting or reordering rows breaks the link of the next;
deleting the newest rows leaves the chain's head (`AuditChain`: the last seq and hash)
pointing past the end. `daozhang audit verify` recomputes every chain and names the first
broken link of each.

Why one chain per merchant rather than one for the whole log: appending takes the chain's
head row with a row lock until the writer's transaction commits. One global chain would
serialise every audited write of every merchant behind one lock; per merchant, writers of
different merchants never wait for each other. (SQLite has one writer anyway.)

Canonical serialisation: a JSON object of every field (id, at to the microsecond in UTC,
actor, action, object type and id, merchant id, before, after, seq, prev_hash), keys
sorted, no spaces, UTF-8. `before`/`after` are normalised before they are stored (a JSON
round trip; a float with no fraction becomes an int), so what PostgreSQL's jsonb gives back
serialises to the same bytes as what was written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Any

from daozhang.core.ids import PLATFORM_ID

GENESIS = "0" * 64
PLATFORM = "platform"  # the chain key of the platform's rows


def _merchant(merchant_id: uuid.UUID | str | None) -> uuid.UUID | None:
    """The row's merchant, None for the platform's (stored as the tenant, or NULL before audit 0004)."""
    if merchant_id is None:
        return None
    value = uuid.UUID(str(merchant_id))
    return None if value == PLATFORM_ID else value


def chain_key(merchant_id: uuid.UUID | str | None) -> str:
    merchant = _merchant(merchant_id)
    return PLATFORM if merchant is None else str(merchant)


def normalise(value: Any) -> Any:
    """The JSON value as any database gives it back: what is stored and what is hashed."""
    if value is None:
        return None
    return _ints(json.loads(json.dumps(value, ensure_ascii=False)))


def _ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_ints(v) for v in value]
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    return value


def _at(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(*, id: uuid.UUID | str, at: dt.datetime, actor: str, action: str, object_type: str,
              object_id: str, merchant_id: uuid.UUID | str | None, before: Any, after: Any, seq: int,
              prev_hash: str) -> bytes:
    doc = {
        "id": str(uuid.UUID(str(id))), "at": _at(at), "actor": actor, "action": action,
        "object_type": object_type, "object_id": object_id,
        # The platform's rows hash as they did before they had the tenant's id (audit 0004).
        "merchant_id": None if _merchant(merchant_id) is None else str(_merchant(merchant_id)),
        "before": normalise(before), "after": normalise(after), "seq": int(seq), "prev_hash": prev_hash,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(**fields: Any) -> str:
    """The hash a row with these fields carries (`fields` as `canonical` takes them)."""
    return hashlib.sha256(canonical(**fields)).hexdigest()
