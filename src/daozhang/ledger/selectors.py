"""Reads of the ledger: balances and the integrity check."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.db import DatabaseError, connection, transaction
from django.db.models import Sum

from daozhang.ledger import checks as consistency
from daozhang.ledger.accounts import merchant_payable
from daozhang.ledger.models import Account, Posting


def merchant_payable_balance(merchant_id: uuid.UUID) -> int:
    """Fen the acquirer owes the merchant (a liability: credit balance shown positive)."""
    balance = (
        Account.objects.filter(id=merchant_payable(merchant_id).id)
        .values_list("balance", flat=True)
        .first()
    )
    return -(balance or 0)


def purpose_balance(purpose: str) -> int:
    """A platform total: the sum of every merchant's account of `purpose` (ledger.accounts)."""
    return int(Account.objects.filter(purpose=purpose).aggregate(t=Sum("balance"))["t"] or 0)


@dataclass
class Finding:
    """What one registered consistency check (ledger.checks) found wrong."""

    check: str
    ref: str  # the offending row: "payment:<id>", "batch:<id>", "posting:<id>"
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.ref}: {self.detail}"


@dataclass
class CheckResult:
    entries: int
    postings: int
    accounts: int
    unbalanced_entries: list[tuple[str, int, int]]  # (entry id, sum, postings), at most `limit`
    wrong_balances: list[tuple[str, int, int]]  # (account code, stored, recomputed), at most `limit`
    unbalanced_count: int = 0  # all of them, however many are listed
    wrong_count: int = 0
    findings: list[Finding] = field(default_factory=list)  # at most `limit` per check
    finding_counts: dict[str, int] = field(default_factory=dict)  # check name → offenders (0 if none)

    @property
    def ok(self) -> bool:
        return not self.unbalanced_entries and not self.wrong_balances and not any(self.finding_counts.values())

    def summary(self) -> str:
        state = "OK" if self.ok else "FAILED"
        failing = sum(1 for n in self.finding_counts.values() if n)
        return (
            f"ledger {state}: {self.entries} entries, {self.postings} postings, "
            f"{self.accounts} accounts; {self.unbalanced_count} unbalanced entries, "
            f"{self.wrong_count} accounts whose balance differs from their postings; "
            f"{failing} of {len(self.finding_counts)} consistency checks failing"
        )


def check_ledger(limit: int = 1000) -> CheckResult:
    """Recompute every balance from postings and verify every entry sums to zero.

    Set-based SQL, so it runs in seconds on millions of postings.
    """
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM ledger_entry")
        entries = cur.fetchone()[0]
        cur.execute("SELECT COUNT(*) FROM ledger_posting")
        postings = cur.fetchone()[0]
        cur.execute("SELECT COUNT(*) FROM ledger_account")
        accounts = cur.fetchone()[0]
        unbalanced_sql, wrong_sql = _CHECK_SQL["sqlite" if connection.vendor == "sqlite" else "sql"]
        found = {}
        for name, sql in (("unbalanced", unbalanced_sql), ("wrong", wrong_sql)):
            cur.execute(f"SELECT COUNT(*) FROM ({sql}) x")  # noqa: S608 - constant SQL
            count = int(cur.fetchone()[0])
            rows = []
            if count:
                cur.execute(f"{sql} LIMIT %s", [limit])
                rows = cur.fetchall()
            found[name] = (count, rows)
        unbalanced = [(str(uuid.UUID(str(r[0]))), _exact(r[1:3]), int(r[3])) for r in found["unbalanced"][1]]
        wrong = [(r[0], _exact_balance(r[1]), _exact(r[2:4])) for r in found["wrong"][1]]
    result = CheckResult(entries, postings, accounts, unbalanced, wrong, found["unbalanced"][0], found["wrong"][0])
    for check in consistency.registered():
        count, rows = _run_check(check, limit)
        result.finding_counts[check.name] = count
        result.findings += [Finding(check.name, str(ref), str(detail)) for ref, detail in rows]
    return result


def _run_check(check: consistency.ConsistencyCheck, limit: int) -> tuple[int, list[tuple[str, str]]]:
    """Offenders of one registered check; a check the database cannot run counts as failing
    (a sum past 64 bits on SQLite, a reference that is no uuid): it is not an OK."""
    sql = check.sql_for(connection.vendor)
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM ({sql}) x")  # noqa: S608 - registered constant SQL
            count = int(cur.fetchone()[0])
            rows: list[tuple[str, str]] = []
            if count:
                cur.execute(f"{sql} LIMIT %s", [limit])
                rows = [(str(r[0]), str(r[1])) for r in cur.fetchall()]
    except DatabaseError as exc:
        return 1, [(check.name, f"the check could not run: {str(exc).strip().splitlines()[0]}")]
    return count, rows


# SQLite's SUM() raises "integer overflow" past 64 bits, and its `+` and `*` turn into
# REAL. So there each amount is split into a high and a low part, amount = hi * 2^32 + lo
# (SQLite's `/` and `%` truncate toward zero), whose sums cannot overflow for fewer than
# 2^31 postings a group; Python adds them back exactly. Two totals are equal exactly when
# (hi1 - hi2) * 2^32 = lo2 - lo1 once the low sums are brought under 2^32 (carry). PostgreSQL
# sums bigint into numeric, which does not overflow.
_SPLIT = 4294967296
_SQLITE_SUMS = (f"SUM(p.amount / {_SPLIT}) + SUM(p.amount % {_SPLIT}) / {_SPLIT} AS hi,"
                f" SUM(p.amount % {_SPLIT}) % {_SPLIT} AS lo")
_CHECK_SQL = {
    "sql": (
        "SELECT e.id, COALESCE(SUM(p.amount), 0), 0, COUNT(p.id) FROM ledger_entry e"
        " LEFT JOIN ledger_posting p ON p.merchant_id = e.merchant_id AND p.entry_id = e.id"
        " GROUP BY e.merchant_id, e.id HAVING COALESCE(SUM(p.amount), 0) <> 0 OR COUNT(p.id) < 2",
        "SELECT a.code, a.balance, COALESCE(s.total, 0), 0 FROM ledger_account a"
        " LEFT JOIN (SELECT merchant_id, account_id, SUM(amount) AS total FROM ledger_posting"
        " GROUP BY merchant_id, account_id) s ON s.merchant_id = a.merchant_id AND s.account_id = a.id"
        " WHERE a.balance <> COALESCE(s.total, 0)",
    ),
    "sqlite": (
        "SELECT e.id, COALESCE(s.hi, 0), COALESCE(s.lo, 0), COALESCE(s.n, 0) FROM ledger_entry e"  # noqa: S608
        f" LEFT JOIN (SELECT p.merchant_id, p.entry_id, {_SQLITE_SUMS}, COUNT(*) AS n FROM ledger_posting p"
        " GROUP BY p.merchant_id, p.entry_id) s ON s.merchant_id = e.merchant_id AND s.entry_id = e.id"
        " WHERE COALESCE(s.hi, 0) <> 0 OR COALESCE(s.lo, 0) <> 0 OR COALESCE(s.n, 0) < 2",
        "SELECT a.code, a.balance, COALESCE(s.hi, 0), COALESCE(s.lo, 0) FROM ledger_account a"  # noqa: S608
        f" LEFT JOIN (SELECT p.merchant_id, p.account_id, {_SQLITE_SUMS} FROM ledger_posting p"
        " GROUP BY p.merchant_id, p.account_id) s ON s.merchant_id = a.merchant_id AND s.account_id = a.id"
        " WHERE typeof(a.balance) <> 'integer'"
        f" OR (a.balance / {_SPLIT} - COALESCE(s.hi, 0)) * {_SPLIT} <> COALESCE(s.lo, 0) - a.balance % {_SPLIT}",
    ),
}


def _exact(parts: tuple[object, ...] | list[object]) -> int:
    hi, lo = (int(p) for p in parts)  # type: ignore[call-overload]
    return hi * _SPLIT + lo if connection.vendor == "sqlite" else hi + lo


def _exact_balance(value: object) -> int:
    # A balance stored as REAL (written before the 64-bit guard) is shown as the nearest integer.
    return int(value)  # type: ignore[call-overload]


def entry_postings(entry_id: uuid.UUID) -> list[tuple[str, int]]:
    """(account code, amount) of each posting of an entry; the accounts read by (merchant_id,
    id), not joined on the id alone (docs/operations.md "Scaling out")."""
    rows = list(Posting.objects.filter(entry_id=entry_id).values_list("merchant_id", "account_id", "amount"))
    codes = dict(Account.objects.filter(merchant_id__in={m for m, _, _ in rows}, id__in={a for _, a, _ in rows})
                 .values_list("id", "code"))
    return [(codes[account_id], amount) for _, account_id, amount in rows]
