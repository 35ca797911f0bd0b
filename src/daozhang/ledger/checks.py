"""Consistency checks between the ledger and the business rows that caused its entries.

Why a registry: `ledger check` proves the ledger agrees with itself (every entry balances,
every balance is its postings' sum), but a sale entry deleted together with its postings
and balances leaves a ledger that agrees with itself perfectly; only the payment row, still
approved, shows that money went missing. The ledger cannot import the flows (they sit above
it), so each flow registers here, from its AppConfig.ready(), the checks that join its own
tables to `ledger_entry` by the entry's reference or idempotency key (payments, settlement
batches, payouts and adjustments, risk holds); `ledger check` runs them all, plus the
ledger's own (orphan postings, a non-zero sum of all postings).

A check is one SELECT, constant SQL written for both databases (the SQL functions of core
0004 give uuids the same text on both), returning one row per offender: a reference
(`payment:<id>`, `batch:<id>`) and what is wrong. The check command counts and lists them.
Every join between a business table and the ledger, and inside the ledger, is on
`merchant_id` as well as the row: on a database distributed by merchant each merchant's
part of a check runs on its own shard (docs/operations.md "Scaling out").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from daozhang.core.ids import PLATFORM_ID


@dataclass(frozen=True)
class ConsistencyCheck:
    name: str  # "payments.sale_entry_missing": flow and what it finds
    description: str  # what an offender is, in a few words ("approved payments with no sale entry")
    # SELECT reference, detail FROM …: one row per offender; or a function of the database
    # vendor ("sqlite", "postgresql") giving it, where the two need different SQL.
    sql: str | Callable[[str], str]

    def sql_for(self, vendor: str) -> str:
        return self.sql if isinstance(self.sql, str) else self.sql(vendor)


_checks: dict[str, ConsistencyCheck] = {}


def register(*checks: ConsistencyCheck) -> None:
    for check in checks:
        _checks[check.name] = check


def registered() -> list[ConsistencyCheck]:
    return [_checks[name] for name in sorted(_checks)]


@contextmanager
def registered_temporarily(*checks: ConsistencyCheck) -> Iterator[None]:
    """For tests: the checks are registered for the block only."""
    saved = dict(_checks)
    register(*checks)
    try:
        yield
    finally:
        _checks.clear()
        _checks.update(saved)


def uuid_ref(prefix: str, column: str) -> str:
    """SQL for the reference text `prefix:<uuid>` of a uuid column, as the services write it."""
    return f"'{prefix}:' || daozhang_uuid_text({column})"


def ref_id(vendor: str, ref_sql: str, prefix: str) -> str:
    """SQL for the stored id inside a reference `prefix:<uuid>` (to join a business row's
    primary key by index): a uuid on PostgreSQL, 32 hex digits on SQLite."""
    tail = f"substr({ref_sql}, {len(prefix) + 2})"
    return f"CAST({tail} AS uuid)" if vendor == "postgresql" else f"replace({tail}, '-', '')"


def missing_entry(name: str, description: str, *, table: str, where: str, key: str = "",
                  match: str = "", prefix: str, detail: str) -> ConsistencyCheck:
    """Rows of `table` (alias t) matching `where` with no entry of t's merchant whose
    idempotency key is `key` (SQL over t), or for which `match` holds: a business row whose
    money was never booked, or whose entry went."""
    found = "e.merchant_id = t.merchant_id AND " + (match or f"e.idempotency_key = {key}")
    return ConsistencyCheck(name, description, (
        f"SELECT {uuid_ref(prefix, 't.id')}, {detail} FROM {table} t WHERE {where}"  # noqa: S608 - constants
        f" AND NOT EXISTS (SELECT 1 FROM ledger_entry e WHERE {found})"))


def entry_without_row(name: str, description: str, *, kinds: tuple[str, ...], table: str,
                      prefix: str) -> ConsistencyCheck:
    """Entries of `kinds` whose business reference names no row of `table`: money booked
    for something that does not exist (or whose row was deleted)."""
    kind_list = ", ".join(f"'{k}'" for k in kinds)
    return ConsistencyCheck(name, description, lambda vendor: (
        f"SELECT e.business_ref, e.kind || ' entry ' || daozhang_uuid_text(e.id) || ': no such {prefix}'"  # noqa: S608
        f" FROM ledger_entry e WHERE e.kind IN ({kind_list}) AND NOT EXISTS"
        f" (SELECT 1 FROM {table} t WHERE t.merchant_id = e.merchant_id"
        f" AND t.id = {ref_id(vendor, 'e.business_ref', prefix)})"))


# An entry e, its postings x and their accounts a, joined within the merchant. `purpose`s
# checked are the merchant's own accounts (payable, payout due, frozen), never the platform's
# side, which a database older than ledger 0011 has on shared accounts.
ENTRY_POSTINGS_ACCOUNTS = ("ledger_entry e JOIN ledger_posting x ON x.merchant_id = e.merchant_id AND x.entry_id = e.id"
                           " JOIN ledger_account a ON a.merchant_id = x.merchant_id AND a.id = x.account_id")


def amount_differs(name: str, description: str, *, kind: str, purpose: str, table: str, prefix: str,
                   expected: str, where: str = "") -> ConsistencyCheck:
    """Rows of `table` (alias t) whose entry of `kind` moves a different amount through its
    accounts of `purpose` than `expected` (SQL over t: the signed posting sum it should be)."""
    return ConsistencyCheck(name, description, lambda vendor: (
        f"SELECT {uuid_ref(prefix, 't.id')}, 'expected ' || ({expected}) || ', its entry posts ' || s.total"  # noqa: S608
        " FROM (SELECT e.merchant_id, e.business_ref,"
        " SUM(CASE WHEN a.purpose = '" + purpose + "' THEN x.amount ELSE 0 END) AS total"
        f" FROM {ENTRY_POSTINGS_ACCOUNTS}"
        f" WHERE e.kind = '{kind}' GROUP BY e.merchant_id, e.id, e.business_ref) s"
        f" JOIN {table} t ON t.merchant_id = s.merchant_id AND t.id = {ref_id(vendor, 's.business_ref', prefix)}"
        f" WHERE s.total <> ({expected}){' AND ' + where if where else ''}"))


# The ledger's own: postings that belong to no entry or no account of their merchant (an
# entry deleted, or a posting added behind the ledger with its balance adjusted to match),
# and the sum of every posting, which is zero in a double-entry ledger whatever else went
# wrong; zero for each merchant too, as every entry is one merchant's. The shared platform
# accounts of a database older than ledger 0011 carry every merchant's old postings: those
# postings count as having their account (the list of those accounts is read once).
LEDGER_CHECKS = (
    ConsistencyCheck(
        "ledger.orphan_postings", "postings whose entry does not exist",
        "SELECT 'posting:' || daozhang_uuid_text(p.id), 'entry ' || daozhang_uuid_text(p.entry_id)"
        " || ' missing, amount ' || p.amount FROM ledger_posting p"
        " WHERE NOT EXISTS (SELECT 1 FROM ledger_entry e WHERE e.merchant_id = p.merchant_id AND e.id = p.entry_id)"),
    ConsistencyCheck(
        "ledger.postings_without_account", "postings whose account does not exist",
        "SELECT 'posting:' || daozhang_uuid_text(p.id), 'account ' || daozhang_uuid_text(p.account_id)"  # noqa: S608
        " || ' missing, amount ' || p.amount FROM ledger_posting p"
        " WHERE NOT EXISTS (SELECT 1 FROM ledger_account a WHERE a.merchant_id = p.merchant_id AND a.id = p.account_id)"
        " AND p.account_id NOT IN (SELECT s.id FROM ledger_account s"
        f" WHERE daozhang_uuid_text(s.merchant_id) = '{PLATFORM_ID}' AND s.code LIKE 'platform:%')"),
    ConsistencyCheck(
        "ledger.global_sum", "currencies whose postings do not sum to zero",
        "SELECT 'currency:' || currency, 'all postings sum to ' || SUM(amount) FROM ledger_posting"
        " GROUP BY currency HAVING SUM(amount) <> 0"),
    ConsistencyCheck(
        "ledger.merchant_sum", "merchants whose postings do not sum to zero",
        "SELECT 'merchant:' || daozhang_uuid_text(merchant_id), currency || ' postings sum to ' || SUM(amount)"
        " FROM ledger_posting GROUP BY merchant_id, currency HAVING SUM(amount) <> 0"),
)
register(*LEDGER_CHECKS)
