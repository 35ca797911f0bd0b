"""The ceiling: the same ledger rows written with plain SQL through the database driver.

One payment = one `ledger_entry` row + three `ledger_posting` rows (`executemany`), into
the product's own tables (same indexes, same PostgreSQL balance trigger), with nothing
else: no payment row, no balance update, no lookups, no ORM. Per payment one transaction
(online ceiling); per batch one transaction (bulk ceiling).

The ceiling posts to its own accounts (`bench:ceiling:*`): it does not maintain their
stored balance, so the ledger check at the end of a run leaves those accounts out.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Sequence
from typing import Any

import psycopg
from uuid_utils.compat import uuid7

from daozhang.ledger.accounts import AccountSpec

CEILING_PREFIX = "bench:ceiling:"

_COLS_ENTRY = "id, kind, merchant_id, business_ref, idempotency_key, business_date, currency, memo, created_at"
_COLS_POSTING = "id, entry_id, account_id, merchant_id, amount, currency"


def ceiling_accounts(merchant_id: Any) -> tuple[AccountSpec, AccountSpec, AccountSpec]:
    """A merchant's receivable, payable and fee accounts for the ceiling: every account is
    one merchant's, as the product's are (ledger.accounts)."""
    return tuple(AccountSpec(f"{CEILING_PREFIX}{name}:{merchant_id}", "bench_ceiling", type_, merchant_id)  # type: ignore[return-value]
                 for name, type_ in (("receivable", "asset"), ("payable", "liability"), ("fee_income", "income")))


def sale_amounts(n: int, rng: random.Random) -> list[tuple[int, int]]:
    """(amount, fee) pairs; the fee is 0.38 % rounded half up, as the fee plans do."""
    out = []
    for _ in range(n):
        a = rng.randint(1_000, 200_000)
        out.append((a, (a * 3800 + 500_000) // 1_000_000))
    return out


class PlainWriter:
    """Writes entries with the driver itself: psycopg 3 for PostgreSQL, sqlite3 for SQLite."""

    def __init__(self, vendor: str, url_or_path: str, merchant_ids: Sequence[Any], sqlite_cache_kib: int = 0) -> None:
        from daozhang.ledger.services import ensure_accounts

        accounts = [ceiling_accounts(m) for m in merchant_ids]
        ensure_accounts([a for triple in accounts for a in triple])
        self.vendor = vendor
        self.sqlite = vendor == "sqlite"
        mark = "?" if self.sqlite else "%s"
        self.entry_sql = f"INSERT INTO ledger_entry ({_COLS_ENTRY}) VALUES ({','.join([mark] * 9)})"
        self.posting_sql = f"INSERT INTO ledger_posting ({_COLS_POSTING}) VALUES ({','.join([mark] * 6)})"
        u = self._u
        self.merchants = [(u(m), u(r.id), u(p.id), u(f.id))
                          for m, (r, p, f) in zip(merchant_ids, accounts, strict=True)]
        if self.sqlite:
            self.conn: Any = sqlite3.connect(url_or_path, isolation_level=None, timeout=30)
            # The product's connection settings (daozhang/settings.py).
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            if sqlite_cache_kib:
                # The page cache the product's import path gives its connection (payments/bulk.py).
                self.conn.execute(f"PRAGMA cache_size=-{sqlite_cache_kib}")
        else:
            self.conn = psycopg.connect(url_or_path.replace("postgres://", "postgresql://", 1))
        self.cur = self.conn.cursor()
        self.i = 0

    def _u(self, value: Any) -> Any:
        return value.hex if self.sqlite else value

    def _now(self) -> Any:
        now = dt.datetime.now(dt.UTC)
        return now.replace(tzinfo=None).isoformat(" ") if self.sqlite else now

    def _rows(self, sales: Sequence[tuple[int, int]], entries: list[Any], postings: list[Any]) -> None:
        now = self._now()
        today = dt.date.today()
        day = today.isoformat() if self.sqlite else today
        merchants, u = self.merchants, self._u
        for amount, fee in sales:
            self.i += 1
            mid, recv, payable, fee_acct = merchants[self.i % len(merchants)]
            eid = uuid7()
            e = u(eid)
            ref = f"bench-ceiling:{eid}"
            entries.append((e, "bench.ceiling", mid, ref, ref, day, "CNY", "", now))
            postings.append((u(uuid7()), e, recv, mid, amount, "CNY"))
            postings.append((u(uuid7()), e, payable, mid, fee - amount, "CNY"))
            postings.append((u(uuid7()), e, fee_acct, mid, -fee, "CNY"))

    def write(self, sales: Sequence[tuple[int, int]]) -> None:
        """One transaction: len(sales) entries (1 for the online ceiling, 1,000 for a batch)."""
        entries: list[Any] = []
        postings: list[Any] = []
        self._rows(sales, entries, postings)
        cur = self.cur
        if self.sqlite:
            cur.execute("BEGIN IMMEDIATE")
        if len(entries) == 1:
            cur.execute(self.entry_sql, entries[0])
        else:
            cur.executemany(self.entry_sql, entries)
        cur.executemany(self.posting_sql, postings)
        if self.sqlite:
            cur.execute("COMMIT")
        else:
            self.conn.commit()

    def close(self) -> None:
        self.conn.close()
