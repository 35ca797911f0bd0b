"""Globally unique, time-ordered ids (UUIDv7).

Why v7: ids sort by creation time, so B-tree inserts stay at the right edge of the index,
and they are unique without a central sequence, so the schema can later be distributed
by merchant without renumbering anything. uuid-utils generates them in Rust, which
matters on the bulk path where every payment needs five ids.
"""

from __future__ import annotations

import uuid
from functools import lru_cache

import uuid_utils

_UNKNOWN = uuid.SafeUUID.unknown
_uuid7 = uuid_utils.uuid7
_new_uuid = object.__new__
_set = object.__setattr__


def new_id() -> uuid.UUID:
    """A UUIDv7 as a standard `uuid.UUID`.

    What `uuid_utils.compat.uuid7` does, with the `SafeUUID` member looked up once instead
    of per call (an enum attribute access was most of its 1.6 µs); the bulk paths call
    this several times per row.
    """
    u = _new_uuid(uuid.UUID)
    _set(u, "int", _uuid7().int)
    _set(u, "is_safe", _UNKNOWN)
    return u


@lru_cache(maxsize=200_000)
def account_id_for(code: str) -> uuid.UUID:
    """The fixed id of a named ledger account: `uuid.uuid5(namespace, code)`.

    Named accounts (a merchant's payable, a fee-income shard) get a deterministic id, so
    the posting path knows every account id without reading the database. Computed by
    uuid-utils (the same UUIDv5, 1.3 µs instead of the standard library's 5.8 µs: a
    settlement run meets ten thousand merchants' accounts for the first time).
    """
    u = _new_uuid(uuid.UUID)
    _set(u, "int", uuid_utils.uuid5(_ACCOUNT_NAMESPACE_RUST, code).int)
    _set(u, "is_safe", _UNKNOWN)
    return u


_ACCOUNT_NAMESPACE = uuid.UUID("6f1d5a3e-2b8c-4d0e-9a47-0c5e1d2f3a4b")
_ACCOUNT_NAMESPACE_RUST = uuid_utils.UUID(_ACCOUNT_NAMESPACE.hex)

# The merchant id of what belongs to no merchant, the platform tenant: staff calls'
# idempotency records, staff actions in the audit log, the ledger's shared accounts of
# before ledger 0011 — the platform's own rows in merchant-keyed tables, so `merchant_id`
# is never null. It has no row in merchants_merchant; on a database distributed by
# merchant its rows are one shard's, like a merchant's (docs/operations.md "Scaling out").
PLATFORM_ID = uuid.UUID(int=0)
