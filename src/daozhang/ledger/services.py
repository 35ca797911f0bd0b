"""The only writer of ledger entries and postings.

`post_entries` is called inside the business service's transaction, so the business row
and its money movement commit or roll back together. It writes with plain SQL, not the
ORM: the ORM's per-object cost would dominate the bulk path (imports, settlement), and
one code path serves both the online and the bulk callers.

What one call costs the database (docs/performance.md has the measurements):

* PostgreSQL: ONE statement, whatever the number of entries. The entry rows and the
  posting rows are inserted by data-modifying CTEs and the balances are added by the
  same statement's `INSERT … ON CONFLICT (merchant_id, id) DO UPDATE` on the accounts, in account-id
  order (so two writers of one merchant's entries lock its accounts in the same order and
  cannot deadlock; an account not created yet, on its first use, is created by the same
  statement). A batch sends every column as one array (`unnest`, bound server-side
  in the binary format): 24 parameters for 1,000 entries, not 30,000. A call of a few
  entries (an online request's) sends its entry, posting and account rows as three JSON
  parameters instead (cheaper to build than 24 short arrays) in a prepared statement,
  parsed and planned once per connection.
* SQLite (in-process, no round trips): three `executemany` calls — entries, postings,
  and the same account upsert.

`post_entries_from` writes the entries a query yields, leg by leg, without bringing them
into this process: the settlement run's ten thousand entries are computed by the database
from the batches it has just inserted.

`insert_with_entries` adds the business row that causes the entries (the online sale's
payment) to that same statement on PostgreSQL: outside a transaction, the statement is its
own transaction, so a sale's whole write is one round trip and one durable commit.

The deferred constraint trigger on PostgreSQL still checks every entry's sum at COMMIT,
and `validate` checks it here first, on both databases.
"""

from __future__ import annotations

import datetime as dt
import json as _json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import uuid_utils
from django.db import connection, transaction

from daozhang.core import clock
from daozhang.core.db import execute_server_bound, fresh_temp_table, run
from daozhang.core.errors import DomainError
from daozhang.core.ids import PLATFORM_ID, new_id
from daozhang.ledger.accounts import AccountSpec, platform_side
from daozhang.ledger.models import Account, Posting


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
    # Every leg is on this merchant's accounts (ledger.accounts): one merchant's rows only.
    merchant_id: uuid.UUID
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
        if leg.account.merchant_id != entry.merchant_id:
            raise UnbalancedEntry(f"{entry.idempotency_key}: account {leg.account.code} is not the entry's"
                                  f" merchant's ({entry.merchant_id})")
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
    existing = {} if keys_are_new else _existing_keys(entries)
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


def insert_with_entries(row_sql: str, row_params: Sequence[Any], entries: Sequence[NewEntry], *,
                        also: Sequence[tuple[str, Sequence[Any]]] = ()) -> None:
    """Insert one business row and the entries it causes, all or nothing.

    `also` are more single-row INSERTs written with them (the API's stored answer under
    the request's Idempotency-Key, `core.once`), in the same statement on PostgreSQL.

    `row_sql` is an `INSERT` with `%s` placeholders; the entries' idempotency keys must be
    new (they embed the id of the row being inserted, whose own unique constraint refuses
    a duplicate: the `IntegrityError` then leaves nothing written). On PostgreSQL the row
    and the ledger rows are ONE statement (the row's `INSERT` is its first CTE), so called
    outside a transaction it is a transaction of its own: one round trip, and the deferred
    zero-sum check runs at its commit. Inside a transaction it joins it; on SQLite, or
    with no entries, the row is inserted first, in a transaction opened here if needed.
    """
    for entry in entries:
        validate(entry)
    if entries and connection.vendor == "postgresql":
        _write(entries, rows=[(row_sql, row_params), *also])
        return
    with transaction.atomic(), connection.cursor() as cur:
        for sql, params in ((row_sql, row_params), *also):
            cur.execute(sql, params)
        if entries:
            _write(entries)


# The columns of the query `post_entries_from` takes, one row per posting, in this order.
LEG_COLUMNS = (("entry_id", "uuid"), ("kind", "text"), ("merchant_id", "uuid"), ("business_ref", "text"),
               ("idempotency_key", "text"), ("business_date", "date"), ("currency", "text"),
               ("account_id", "uuid"), ("account_code", "text"), ("account_purpose", "text"),
               ("account_type", "text"), ("amount", "bigint"))
_LEGS = "ledger_new_legs"
_LEG_NAMES = ", ".join(name for name, _ in LEG_COLUMNS)


def named_leg_columns(*select_lists: str) -> str:
    """The select list of a legs query's first branch with every column named as
    `LEG_COLUMNS` (`expr AS entry_id, …`): `post_entries_from` reads the legs by these names.
    The pieces are comma-separated expressions without commas of their own."""
    exprs = [e.strip() for part in select_lists for e in part.split(",")]
    if len(exprs) != len(LEG_COLUMNS):
        raise ValueError(f"{len(exprs)} expressions for {len(LEG_COLUMNS)} leg columns")
    return ", ".join(f"{e} AS {name}" for e, (name, _) in zip(exprs, LEG_COLUMNS, strict=True))


def post_entries_from(legs_sql: str, params: dict[str, Any]) -> int:
    """Write the entries whose postings `legs_sql` selects (`LEG_COLUMNS`, named so in its
    first SELECT: `named_leg_columns`); returns how many.

    For writers whose entries follow from rows already in the database (a settlement
    chunk's batches): the legs never travel to this process and back. The same rules as
    `post_entries` hold. Every entry must sum to zero over two or more non-zero postings:
    checked on SQLite here, before anything is written; on PostgreSQL by its trigger at
    COMMIT (the legs there never leave the one statement that writes them). The balances
    are added to the accounts in id order, creating an account on first use, so
    `legs_sql` gives each account's code, purpose and type; every account is the entry's
    merchant's (the posting's `merchant_id` is the account's). The idempotency keys
    must be new: a used one fails on its unique constraint.
    Runs inside the caller's transaction. SQLite, which has no data-modifying CTEs, reads
    the legs once into a temporary table for its three inserts.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("post_entries_from must run inside the business transaction")
    created = {**params, "ledger_created": connection.ops.adapt_datetimefield_value(clock.now())}
    if connection.vendor == "postgresql":
        # One statement, the legs computed once; the deferred trigger checks every entry at COMMIT.
        # No column list on `legs`: Citus's planner fails on one over a UNION (issue 12).
        sql = (f"WITH legs AS MATERIALIZED ({legs_sql}), e AS ({_entries_from('legs')} RETURNING 1),"  # noqa: S608
               f" p AS ({_postings_from('legs')}), a AS ({_accounts_from('legs')}) SELECT COUNT(*) FROM e")
        return int(run(sql, created)[0][0])
    fresh_temp_table(_LEGS, LEG_COLUMNS)
    run(f"INSERT INTO {_LEGS} ({_LEG_NAMES}) {legs_sql}", params)
    bad = run(f"SELECT idempotency_key, SUM(amount), COUNT(*) FROM {_LEGS} GROUP BY idempotency_key"  # noqa: S608
              f" HAVING SUM(amount) <> 0 OR COUNT(*) < 2 OR MIN(CASE WHEN amount = 0 THEN 0 ELSE 1 END) = 0"
              f" LIMIT 1", {})
    if bad:
        key, total, n = bad[0]
        raise UnbalancedEntry(f"{key}: {n} postings summing to {total}, or a zero amount")
    rows = run(f"{_entries_from(_LEGS)} RETURNING 1", created)
    run(_postings_from(_LEGS), {})
    run(_accounts_from(_LEGS), created)
    return len(rows)


def _entries_from(legs: str) -> str:
    return (f"INSERT INTO {_ENTRY} SELECT DISTINCT entry_id, kind, merchant_id, business_ref,"  # noqa: S608 - constants
            f" idempotency_key, business_date, currency, '', %(ledger_created)s FROM {legs}")


def _postings_from(legs: str) -> str:
    return (f"INSERT INTO {_POSTING} SELECT daozhang_uuid7(), entry_id, account_id, merchant_id, amount,"  # noqa: S608
            f" currency FROM {legs}")


def _accounts_from(legs: str) -> str:
    # Id order, as every writer: two writers of one merchant lock its accounts in the same order.
    return (f"INSERT INTO {_ACCOUNT} SELECT account_id, account_code, account_purpose, account_type,"  # noqa: S608
            f" merchant_id, currency, SUM(amount), %(ledger_created)s FROM {legs} WHERE true"
            f" GROUP BY account_id, account_code, account_purpose, account_type, merchant_id, currency"
            f" ORDER BY account_id{_upsert(connection.vendor)}")


def reversal_legs(merchant_id: uuid.UUID, entry_id: uuid.UUID) -> tuple[Leg, ...]:
    """The legs that undo an earlier entry of the merchant: the same accounts, opposite
    amounts. A leg the entry posted to a shared platform account of the old chart (before
    ledger 0011, which moved each merchant's share of those into its own sub-accounts) is
    undone on the merchant's sub-account of that purpose."""
    rows = Posting.objects.filter(merchant_id=merchant_id, entry_id=entry_id).values_list("account_id", "amount")
    accounts = {a.id: a for a in Account.objects.filter(merchant_id__in=[merchant_id, PLATFORM_ID],
                                                         id__in=[aid for aid, _ in rows])}
    legs = []
    for account_id, amount in rows:
        a = accounts[account_id]
        if a.merchant_id == merchant_id:
            spec = AccountSpec(a.code, a.purpose, a.type, merchant_id, a.currency)
        else:  # "platform:<purpose>[:<channel>]:<shard>"
            channel = a.code.split(":")[2] if a.purpose == "channel_receivable" else ""
            spec = platform_side(merchant_id, a.purpose, channel)
        legs.append(Leg(spec, -amount))
    return tuple(legs)


def ensure_accounts(specs: Iterable[AccountSpec]) -> None:
    """Create named accounts that do not exist yet (safe to call again)."""
    Account.objects.bulk_create(
        [
            Account(id=s.id, code=s.code, purpose=s.purpose, type=s.type,
                    merchant_id=s.merchant_id, currency=s.currency)
            for s in specs
        ],
        ignore_conflicts=True,
    )


def _existing_keys(entries: Sequence[NewEntry]) -> dict[str, uuid.UUID]:
    """The entries already written under these keys, looked up merchant by merchant (a key is
    unique within its merchant's entries: one shard's index on a distributed database)."""
    by_merchant: dict[uuid.UUID, list[str]] = {}
    for e in entries:
        by_merchant.setdefault(e.merchant_id, []).append(e.idempotency_key)
    found: dict[str, uuid.UUID] = {}
    chunk = 900
    with connection.cursor() as cur:
        for merchant_id, keys in by_merchant.items():
            mid = merchant_id.hex if connection.vendor == "sqlite" else merchant_id
            for i in range(0, len(keys), chunk):
                part = keys[i : i + chunk]
                marks = ",".join(["%s"] * len(part))
                cur.execute(
                    "SELECT idempotency_key, id FROM ledger_entry"  # noqa: S608 - placeholders only
                    f" WHERE merchant_id = %s AND idempotency_key IN ({marks})", [mid, *part])
                for key, eid in cur.fetchall():
                    found[key] = eid if isinstance(eid, uuid.UUID) else uuid.UUID(eid)
    return found


# --- the write -------------------------------------------------------------------------

_ENTRY = ("ledger_entry (id, kind, merchant_id, business_ref, idempotency_key, business_date, currency, memo,"
          " created_at)")
_POSTING = "ledger_posting (id, entry_id, account_id, merchant_id, amount, currency)"
_ACCOUNT = "ledger_account (id, code, purpose, type, merchant_id, currency, balance, created_at)"


def _upsert(vendor: str = "postgresql") -> str:
    """Add the delta to an existing account (locking it), or create the account with it.
    PostgreSQL's key is (merchant_id, id) (ledger 0012), SQLite's the id alone."""
    target = "id" if vendor == "sqlite" else "merchant_id, id"
    return f" ON CONFLICT ({target}) DO UPDATE SET balance = ledger_account.balance + EXCLUDED.balance"
_ENTRY_TYPES = ("uuid", "text", "uuid", "text", "text", "date", "text", "text", "timestamptz")
_POSTING_TYPES = ("uuid", "uuid", "uuid", "uuid", "bigint", "text")
_ACCOUNT_TYPES = ("uuid", "text", "text", "text", "uuid", "text", "bigint", "timestamptz")
# Up to this many entries, PostgreSQL gets the JSON form of the statement, prepared (parsed
# and planned once per connection).
_PREPARE_MAX_ENTRIES = 8


def _marks(n: int) -> str:
    return "(" + ",".join(["%s"] * n) + ")"


_ENTRY_MARKS, _POSTING_MARKS, _ACCOUNT_MARKS = _marks(9), _marks(6), _marks(8)
# Every statement below is built from the constants above and placeholders only. SQLite
# (and any backend other than PostgreSQL) writes with executemany:
_EXECUTEMANY_SQL = (
    f"INSERT INTO {_ENTRY} VALUES {_ENTRY_MARKS}",  # noqa: S608
    f"INSERT INTO {_POSTING} VALUES {_POSTING_MARKS}",  # noqa: S608
    f"INSERT INTO {_ACCOUNT} VALUES {_ACCOUNT_MARKS}{_upsert('sqlite')}",  # noqa: S608
)


def _unnest(types: tuple[str, ...]) -> str:
    # %b: psycopg sends each array in the binary format (much cheaper to build than text).
    return "unnest(" + ",".join(f"%b::{t}[]" for t in types) + ")"


_PG_UNNEST_SQL = (
    f"WITH e AS (INSERT INTO {_ENTRY} SELECT * FROM {_unnest(_ENTRY_TYPES)}),"  # noqa: S608
    f" p AS (INSERT INTO {_POSTING} SELECT * FROM {_unnest(_POSTING_TYPES)})"
    f" INSERT INTO {_ACCOUNT} SELECT * FROM {_unnest(_ACCOUNT_TYPES)} AS a(id) ORDER BY a.id{_upsert()}"
)


def _json_rows(types: tuple[str, ...]) -> str:
    # One JSON array of row arrays: a single parameter, whatever the number of rows.
    return ("SELECT " + ", ".join(f"(r->>{i})::{t}" for i, t in enumerate(types))  # noqa: S608 - constants
            + " FROM json_array_elements(%s::json) AS r")


# The same statement for a few entries (an online request): three JSON parameters instead of
# 24 arrays. psycopg's binary array dumper costs ~5 µs per array however short, which made
# the arrays 150 µs of an online sale's client CPU; three json.dumps cost a fifth of that.
_PG_JSON_SQL = (
    f"WITH e AS (INSERT INTO {_ENTRY} {_json_rows(_ENTRY_TYPES)}),"
    f" p AS (INSERT INTO {_POSTING} {_json_rows(_POSTING_TYPES)})"
    f" INSERT INTO {_ACCOUNT} {_json_rows(_ACCOUNT_TYPES)} ORDER BY 1{_upsert()}"
)

# Named accounts have deterministic ids (uuid5 of the code): computed once per code, with
# the hex form SQLite stores.
_account_ids: dict[str, tuple[uuid.UUID, str]] = {}


def _account_id(spec: AccountSpec) -> tuple[uuid.UUID, str]:
    ids = _account_ids.get(spec.code)
    if ids is None:
        if len(_account_ids) >= 200_000:
            _account_ids.clear()
        aid = spec.id
        ids = _account_ids[spec.code] = (aid, aid.hex)
    return ids


def _write(entries: Sequence[NewEntry], rows: Sequence[tuple[str, Sequence[Any]]] = ()) -> None:
    """Write the entries (validated, keys not yet used); on PostgreSQL `rows` (INSERTs and
    their parameters) go first in the same statement."""
    vendor = connection.vendor
    sqlite = vendor == "sqlite"
    ops = connection.ops
    created = ops.adapt_datetimefield_value(clock.now())
    days: dict[dt.date, Any] = {}
    entry_rows: list[tuple[Any, ...]] = []
    posting_rows: list[tuple[Any, ...]] = []
    # Keyed by the account id's hex (a cached str: cheap to hash, sorts like the id's bytes).
    deltas: dict[str, int] = {}
    accounts: dict[str, tuple[uuid.UUID, AccountSpec]] = {}
    account_id, hex_id = _account_id, uuid_utils.uuid7
    for e in entries:
        eid: Any = e.id
        mid: Any = e.merchant_id
        day = days.get(e.business_date)
        if day is None:
            day = days[e.business_date] = ops.adapt_datefield_value(e.business_date)
        if sqlite:
            eid, mid = eid.hex, mid.hex
        currency = e.currency
        entry_rows.append((eid, e.kind, mid, e.business_ref, e.idempotency_key, day, currency, e.memo, created))
        for leg in e.legs:
            aid, key = account_id(leg.account)
            if key in deltas:
                deltas[key] += leg.amount
            else:
                deltas[key] = leg.amount
                accounts[key] = (aid, leg.account)
            if sqlite:
                # The same UUIDv7 generator as core.ids.new_id, without building a uuid.UUID for SQLite's hex.
                posting_rows.append((hex_id().hex, eid, key, mid, leg.amount, currency))
            else:
                posting_rows.append((new_id(), eid, aid, mid, leg.amount, currency))
    # Id order: two transactions touching the same accounts lock them in the same order.
    # Accounts whose net change is zero are upserted too: one that does not exist yet must
    # be created before its postings can refer to it.
    account_rows: list[tuple[Any, ...]] = []
    for key in sorted(deltas):
        aid, s = accounts[key]
        mid = s.merchant_id
        if sqlite:
            account_rows.append((key, s.code, s.purpose, s.type, mid.hex, s.currency, deltas[key], created))
        else:
            account_rows.append((aid, s.code, s.purpose, s.type, mid, s.currency, deltas[key], created))
    if vendor != "postgresql":
        entry_sql, posting_sql, account_sql = _EXECUTEMANY_SQL
        with connection.cursor() as cur:
            cur.executemany(entry_sql, entry_rows)
            cur.executemany(posting_sql, posting_rows)
            if account_rows:
                cur.executemany(account_sql, account_rows)
    else:
        # A call of a few entries is an online request's: JSON rows, and always the same
        # text, so prepared. More entries: one binary array per column, not prepared.
        small = len(entry_rows) <= _PREPARE_MAX_ENTRIES
        if small:
            sql = _PG_JSON_SQL
            params: list[Any] = [_json.dumps(rows, default=str, separators=(",", ":"))
                                 for rows in (entry_rows, posting_rows, account_rows)]
        else:
            sql, params = _PG_UNNEST_SQL, [
                list(col) for rows, n in ((entry_rows, 9), (posting_rows, 6), (account_rows, 8))
                for col in (zip(*rows, strict=True) if rows else [()] * n)
            ]
        if rows:
            ctes = ", ".join(f"r{i} AS ({row_sql})" for i, (row_sql, _) in enumerate(rows))
            sql = f"WITH {ctes}, {sql.removeprefix('WITH ')}"
            params = [*(p for _, row_params in rows for p in row_params), *params]
        execute_server_bound(sql, params, prepare=small)
