"""The only writer of ledger entries and postings.

`post_entries` is called inside the business service's transaction, so the business row
and its money movement commit or roll back together. It writes with plain SQL and
`executemany`: the ORM's per-object cost would dominate the bulk path (imports,
settlement), and one code path serves both the online and the bulk callers.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from daozhang.core import clock
from daozhang.core.errors import DomainError
from daozhang.core.ids import new_id
from daozhang.ledger.accounts import AccountSpec
from daozhang.ledger.models import Account


@dataclass(frozen=True, slots=True)
class Leg:
    account: AccountSpec
    amount: int


@dataclass(frozen=True, slots=True)
class NewEntry:
    kind: str
    idempotency_key: str
    business_ref: str
    business_date: dt.date
    legs: tuple[Leg, ...]
    merchant_id: uuid.UUID | None = None
    memo: str = ""
    currency: str = "CNY"
    id: uuid.UUID = field(default_factory=new_id)


class UnbalancedEntry(DomainError):
    def __init__(self, detail: str) -> None:
        super().__init__("ledger_unbalanced", None, {"detail": detail}, 500)


def validate(entry: NewEntry) -> None:
    """The rules every entry obeys before it reaches the database."""
    if len(entry.legs) < 2:
        raise UnbalancedEntry(f"{entry.idempotency_key}: fewer than two postings")
    total = 0
    for leg in entry.legs:
        if isinstance(leg.amount, bool) or not isinstance(leg.amount, int) or leg.amount == 0:
            raise UnbalancedEntry(f"{entry.idempotency_key}: posting amount {leg.amount!r}")
        if leg.account.currency != entry.currency:
            raise UnbalancedEntry(f"{entry.idempotency_key}: currency mismatch")
        total += leg.amount
    if total != 0:
        raise UnbalancedEntry(f"{entry.idempotency_key}: postings sum to {total}")


def post_entries(entries: Sequence[NewEntry], *, keys_are_new: bool = False) -> list[uuid.UUID]:
    """Write balanced entries; an entry whose idempotency key exists is a replay.

    Returns the id of each entry, the first one's for a replay. Must run inside the
    caller's transaction (`transaction.atomic`). A caller whose keys embed an id it has
    just generated passes `keys_are_new=True` to skip the replay lookup; the unique
    constraint on the key still refuses a duplicate.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("post_entries must run inside the business transaction")
    for entry in entries:
        validate(entry)
    existing = {} if keys_are_new else _existing_keys([e.idempotency_key for e in entries])
    fresh: list[NewEntry] = []
    seen: dict[str, uuid.UUID] = {}
    for entry in entries:
        if entry.idempotency_key in existing or entry.idempotency_key in seen:
            continue
        seen[entry.idempotency_key] = entry.id
        fresh.append(entry)
    if fresh:
        _write(fresh)
    return [existing.get(e.idempotency_key) or seen[e.idempotency_key] for e in entries]


def post_entry(entry: NewEntry, *, keys_are_new: bool = False) -> uuid.UUID:
    return post_entries([entry], keys_are_new=keys_are_new)[0]


def reversal_legs(entry_id: uuid.UUID) -> tuple[Leg, ...]:
    """The legs that undo an earlier entry: the same accounts, opposite amounts."""
    rows = (
        Account.objects.filter(postings__entry_id=entry_id)
        .values_list("code", "purpose", "type", "merchant_id", "shard", "currency", "postings__amount")
    )
    return tuple(
        Leg(AccountSpec(code, purpose, type_, merchant_id, shard, currency), -amount)
        for code, purpose, type_, merchant_id, shard, currency, amount in rows
    )


def _uuid(value: uuid.UUID) -> object:
    return value.hex if connection.vendor == "sqlite" else value


def _existing_keys(keys: list[str]) -> dict[str, uuid.UUID]:
    found: dict[str, uuid.UUID] = {}
    chunk = 900
    with connection.cursor() as cur:
        for i in range(0, len(keys), chunk):
            part = keys[i : i + chunk]
            marks = ",".join(["%s"] * len(part))
            cur.execute(
                f"SELECT idempotency_key, id FROM ledger_entry WHERE idempotency_key IN ({marks})",  # noqa: S608 - placeholders only
                part,
            )
            for key, eid in cur.fetchall():
                found[key] = eid if isinstance(eid, uuid.UUID) else uuid.UUID(eid)
    return found


def _write(entries: Sequence[NewEntry]) -> None:
    ops = connection.ops
    now = ops.adapt_datetimefield_value(clock.now())
    u = _uuid
    entry_rows: list[Any] = []
    posting_rows: list[Any] = []
    deltas: dict[uuid.UUID, int] = defaultdict(int)
    specs: dict[uuid.UUID, AccountSpec] = {}
    for e in entries:
        mid = u(e.merchant_id) if e.merchant_id else None
        entry_rows.append(
            (u(e.id), e.kind, mid, e.business_ref, e.idempotency_key,
             ops.adapt_datefield_value(e.business_date), e.currency, e.memo, now)
        )
        for leg in e.legs:
            aid = leg.account.id
            specs[aid] = leg.account
            deltas[aid] += leg.amount
            posting_rows.append((u(new_id()), u(e.id), u(aid), mid, leg.amount, e.currency))
    with connection.cursor() as cur:
        cur.executemany(
            "INSERT INTO ledger_entry (id, kind, merchant_id, business_ref, idempotency_key,"
            " business_date, currency, memo, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            entry_rows,
        )
        cur.executemany(
            "INSERT INTO ledger_posting (id, entry_id, account_id, merchant_id, amount, currency)"
            " VALUES (%s,%s,%s,%s,%s,%s)",
            posting_rows,
        )
        _apply_deltas(cur, deltas, specs)


def _apply_deltas(cur: object, deltas: dict[uuid.UUID, int], specs: dict[uuid.UUID, AccountSpec]) -> None:
    """Add each account's net change to its stored balance, in id order.

    Id order means two transactions touching the same accounts lock them in the same
    order and cannot deadlock. An account that does not exist yet (a fee-income shard's
    first use) is created, then updated.
    """
    ordered = sorted((aid for aid, d in deltas.items() if d != 0), key=lambda a: a.bytes)
    sql = "UPDATE ledger_account SET balance = balance + %s WHERE id = %s"
    rows = [(deltas[aid], _uuid(aid)) for aid in ordered]
    if not rows:
        return
    c = cur  # typed loosely: Django's CursorWrapper
    if len(rows) <= 4:
        missing = []
        for delta, aid in rows:
            c.execute(sql, (delta, aid))  # type: ignore[attr-defined]
            if c.rowcount == 0:  # type: ignore[attr-defined]
                missing.append(aid)
        if missing:
            _create_and_apply(c, missing, deltas, specs, sql)
        return
    c.executemany(sql, rows)  # type: ignore[attr-defined]
    if c.rowcount != len(rows):  # type: ignore[attr-defined]
        present = set(Account.objects.filter(id__in=ordered).values_list("id", flat=True))
        # The batch above already updated the accounts that existed.
        _create_and_apply(c, [_uuid(a) for a in ordered if a not in present], deltas, specs, sql)


def _create_and_apply(cur: object, missing: list[object], deltas: dict[uuid.UUID, int],
                      specs: dict[uuid.UUID, AccountSpec], sql: str) -> None:
    ids = [m if isinstance(m, uuid.UUID) else uuid.UUID(str(m)) for m in missing]
    ensure_accounts(specs[i] for i in ids)
    for i in ids:
        cur.execute(sql, (deltas[i], _uuid(i)))  # type: ignore[attr-defined]


def ensure_accounts(specs: Iterable[AccountSpec]) -> None:
    """Create named accounts that do not exist yet (safe to call again)."""
    Account.objects.bulk_create(
        [
            Account(id=s.id, code=s.code, purpose=s.purpose, type=s.type,
                    merchant_id=s.merchant_id, shard=s.shard, currency=s.currency)
            for s in specs
        ],
        ignore_conflicts=True,
    )
