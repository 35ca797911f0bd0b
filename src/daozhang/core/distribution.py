"""Can this schema be distributed by merchant? The rules, read from the live PostgreSQL catalog.

A distributed engine that shards by `merchant_id` (Citus: docs/operations.md "Scaling out")
can enforce a key, follow a foreign key, route a lock or a conflict target, and run a
trigger's query on one shard only if the merchant is part of it. A table breaks that the
day it is created, not the day someone tries to distribute it, so the rules are checked on
every PostgreSQL test run against the catalog the migrations produced:

- every table of the product is classified: distributed by merchant (the default), a
  reference table (small, read everywhere, copied to every node), or a platform table
  that stays on the coordinator (`CLASSES` below, by name pattern);
- a distributed table has a NOT NULL `merchant_id`; its primary key, every unique
  constraint and unique index, and every foreign key to another distributed table
  include it; it points at no platform table;
- a reference or platform table points at no distributed table;
- a trigger function on a distributed table that reads another distributed table says
  `merchant_id` (it runs on the shard, where only that merchant's rows are).

`check(cursor)` returns every finding; tests/core/test_distribution.py fails on any that
is not in the list of known ones still to convert (issue 12), so a new table cannot add one.
Core imports no domain: the classification is by table name, the only thing the catalog
and the apps share.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

# Table name patterns → class; the first match wins; a product table matching none is
# distributed by merchant. Django's own tables and the task queue stay on the coordinator.
CLASSES: tuple[tuple[str, str], ...] = (
    # auth_user is referenced by merchant users: a reference table (a few thousand rows).
    ("auth_user", "reference"), ("django_*", "platform"), ("auth_*", "platform"), ("otp_*", "platform"),
    ("django_tasks_database_*", "platform"),
    ("core_jobrun", "platform"), ("core_alert", "platform"),
    ("dates_*", "reference"), ("settlement_calendar*", "reference"),  # the calendar kept its tables' names
    ("settlement_settledday", "platform"),
    # The sandbox bank and SMS stand in for outside parties; production has neither.
    ("channels_sandboxbank*", "platform"), ("notifications_sandboxmessage", "platform"),
    ("merchants_mcc*", "reference"), ("merchants_feeplan*", "reference"),
    ("channels_sandboxfault", "reference"),
    ("access_stafftoken", "platform"), ("access_loginthrottle*", "platform"),
    ("approvals_*", "platform"), ("console_*", "platform"),
    ("settlement_closedday", "reference"),
    ("audit_auditchain", "platform"),
    # The acquirer's devices: in stock with no merchant, bound, returned, bound to another
    # (terminals 0002); copied to every node, read locally by every sale.
    ("terminals_terminal", "reference"),
    # Values unique across all merchants (core.unique): one index on the coordinator, written
    # with each new merchant and login, never read on a shard (why not a reference table:
    # core.models.UniqueValue).
    ("core_uniquevalue", "platform"),
)

DISTRIBUTED, REFERENCE, PLATFORM = "distributed", "reference", "platform"

# The merchants table is distributed by its own id: the merchant_id of every other table.
KEY_COLUMN = {"merchants_merchant": "id"}


def classify(table: str) -> str:
    for pattern, cls in CLASSES:
        if fnmatch.fnmatchcase(table, pattern):
            return cls
    return DISTRIBUTED


@dataclass(frozen=True, order=True)
class Finding:
    table: str
    rule: str  # merchant_id, nullable, primary_key, unique, foreign_key, reference_fk, platform_fk, trigger
    detail: str

    def __str__(self) -> str:
        return f"{self.table}: {self.rule}: {self.detail}"


_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1
"""
_MERCHANT_COLUMN = """
SELECT c.relname, a.attnotnull FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND a.attname = 'merchant_id' AND NOT a.attisdropped
"""
# Every key (primary, unique constraint, unique index; partial ones too) with its columns.
_KEYS = """
SELECT c.relname, i.relname, x.indisprimary,
       array_agg(a.attname ORDER BY a.attnum)
FROM pg_index x
JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(x.indkey)
WHERE n.nspname = current_schema() AND x.indisunique
GROUP BY c.relname, i.relname, x.indisprimary
"""
_FOREIGN_KEYS = """
SELECT c.relname, k.conname, r.relname,
       (SELECT array_agg(a.attname) FROM pg_attribute a WHERE a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey))
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND k.contype = 'f'
"""
_TRIGGERS = """
SELECT c.relname, t.tgname, p.proname, p.prosrc
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND NOT t.tgisinternal
"""


def check(cursor: Any) -> list[Finding]:
    """Every breach of the rules above in the current schema (PostgreSQL), sorted."""
    cursor.execute(_TABLES)
    tables = {row[0]: classify(row[0]) for row in cursor.fetchall()}
    distributed = {t for t, cls in tables.items() if cls == DISTRIBUTED}
    cursor.execute(_MERCHANT_COLUMN)
    not_null = {table: bool(nn) for table, nn in cursor.fetchall() if table in tables}
    not_null.update({table: True for table in KEY_COLUMN if table in tables})  # a primary key: never NULL
    out: list[Finding] = []
    for table in sorted(distributed):
        if table not in not_null:
            out.append(Finding(table, "merchant_id", "no merchant_id column"))
        elif not not_null[table]:
            out.append(Finding(table, "nullable", "merchant_id may be NULL"))
    cursor.execute(_KEYS)
    for table, index, primary, columns in cursor.fetchall():
        if table in distributed and KEY_COLUMN.get(table, "merchant_id") not in (columns or []):
            rule = "primary_key" if primary else "unique"
            out.append(Finding(table, rule, f"{index} ({', '.join(c for c in columns or [] if c)})"))
    cursor.execute(_FOREIGN_KEYS)
    for table, name, target, columns in cursor.fetchall():
        if table in distributed and target in distributed and "merchant_id" not in (columns or []) \
                and not (target in KEY_COLUMN and columns == ["merchant_id"]):
            out.append(Finding(table, "foreign_key", f"{name} → {target} ({', '.join(columns or [])})"))
        elif table in distributed and tables.get(target) == PLATFORM:
            out.append(Finding(table, "foreign_key", f"{name} → {target}, a platform table"))
        elif tables.get(table) in (REFERENCE, PLATFORM) and target in distributed:
            out.append(Finding(table, f"{tables[table]}_fk", f"{name} → {target}, a distributed table"))
    cursor.execute(_TRIGGERS)
    for table, trigger, function, source in cursor.fetchall():
        if table not in distributed:
            continue
        read = {t for t in distributed - {table} if re.search(rf"\b{re.escape(t)}\b", source or "")}
        if read and "merchant_id" not in (source or ""):
            out.append(Finding(table, "trigger", f"{trigger} ({function}) reads {', '.join(sorted(read))} "
                                                 "without merchant_id"))
    return sorted(set(out))


def citus_statements(cursor: Any) -> list[str]:
    """The Citus commands that distribute this schema, in the order they must run.

    Reference tables first (a distributed table's foreign keys may point at them), then
    the merchants table by its id, then every other distributed table by `merchant_id`,
    colocated with it, so one merchant's rows of every table live on one node and a
    merchant's transaction is a single-shard one. Platform tables are left alone: they stay
    on the coordinator. Run on the coordinator as the tables' owner, after `migrate`.
    """
    cursor.execute(_TABLES)
    tables = {row[0]: classify(row[0]) for row in cursor.fetchall()}
    out = [f"SELECT create_reference_table('{t}');" for t in sorted(tables) if tables[t] == REFERENCE]
    anchor = "merchants_merchant"
    if tables.get(anchor) == DISTRIBUTED:
        out.append(f"SELECT create_distributed_table('{anchor}', '{KEY_COLUMN[anchor]}');")
    out += [f"SELECT create_distributed_table('{t}', 'merchant_id', colocate_with => '{anchor}');"
            for t in sorted(tables) if tables[t] == DISTRIBUTED and t != anchor]
    return out
