"""Globally unique, time-ordered ids (UUIDv7).

Why v7: ids sort by creation time, so B-tree inserts stay at the right edge of the index,
and they are unique without a central sequence, so the schema can later be distributed
by merchant without renumbering anything. uuid-utils generates them in Rust, which
matters on the bulk path where every payment needs five ids.
"""

from __future__ import annotations

import uuid
from functools import lru_cache

from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    return uuid7()


@lru_cache(maxsize=200_000)
def account_id_for(code: str) -> uuid.UUID:
    """The fixed id of a named ledger account.

    Named accounts (a merchant's payable, a fee-income shard) get a deterministic id, so
    the posting path knows every account id without reading the database.
    """
    return uuid.uuid5(_ACCOUNT_NAMESPACE, code)


_ACCOUNT_NAMESPACE = uuid.UUID("6f1d5a3e-2b8c-4d0e-9a47-0c5e1d2f3a4b")
