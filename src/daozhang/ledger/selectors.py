"""Reads of the ledger: balances and the integrity check."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import connection
from django.db.models import Sum

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
    """The logical balance of a sharded platform account (sum over its shards)."""
    return int(Account.objects.filter(purpose=purpose).aggregate(t=Sum("balance"))["t"] or 0)


@dataclass
class CheckResult:
    entries: int
    postings: int
    accounts: int
    unbalanced_entries: list[tuple[str, int, int]]  # (entry id, sum, postings), at most `limit`
    wrong_balances: list[tuple[str, int, int]]  # (account code, stored, recomputed), at most `limit`
    unbalanced_count: int = 0  # all of them, however many are listed
    wrong_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.unbalanced_entries and not self.wrong_balances

    def summary(self) -> str:
        state = "OK" if self.ok else "FAILED"
        return (
            f"ledger {state}: {self.entries} entries, {self.postings} postings, "
            f"{self.accounts} accounts; {self.unbalanced_count} unbalanced entries, "
            f"{self.wrong_count} accounts whose balance differs from their postings"
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
        unbalanced_sql = (
            "SELECT e.id, COALESCE(SUM(p.amount), 0), COUNT(p.id) FROM ledger_entry e"
            " LEFT JOIN ledger_posting p ON p.entry_id = e.id"
            " GROUP BY e.id HAVING COALESCE(SUM(p.amount), 0) <> 0 OR COUNT(p.id) < 2")
        wrong_sql = (
            "SELECT a.code, a.balance, COALESCE(s.total, 0) FROM ledger_account a"
            " LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM ledger_posting"
            " GROUP BY account_id) s ON s.account_id = a.id"
            " WHERE a.balance <> COALESCE(s.total, 0)")
        found = {}
        for name, sql in (("unbalanced", unbalanced_sql), ("wrong", wrong_sql)):
            cur.execute(f"SELECT COUNT(*) FROM ({sql}) x")  # noqa: S608 - constant SQL
            count = int(cur.fetchone()[0])
            rows = []
            if count:
                cur.execute(f"{sql} LIMIT %s", [limit])
                rows = cur.fetchall()
            found[name] = (count, rows)
        unbalanced = [(str(uuid.UUID(str(r[0]))), int(r[1]), int(r[2])) for r in found["unbalanced"][1]]
        wrong = [(r[0], int(r[1]), int(r[2])) for r in found["wrong"][1]]
    return CheckResult(entries, postings, accounts, unbalanced, wrong, found["unbalanced"][0], found["wrong"][0])


def entry_postings(entry_id: uuid.UUID) -> list[tuple[str, int]]:
    return list(
        Posting.objects.filter(entry_id=entry_id).values_list("account__code", "amount")
    )
