"""Issue 12: the check of the SQL the suite sends (core/distribution_sql.py). Every UPDATE,
DELETE, `SELECT … FOR UPDATE` and `ON CONFLICT` on a merchant table must filter by
`merchant_id`, or on a database distributed by merchant (Citus) it fans out to every shard
or fails. The PostgreSQL pass records every statement (daozhang.testing.pytest_pg) and
fails on any offender.

The reader is pure Python: these run on both databases. Each kind is shown with a
deliberately wrong statement and its right form, in the forms Django and the product write.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
from django.db import connection

from daozhang.core import distribution_sql as sqlcheck
from daozhang.core.distribution_sql import Offence, offences, origin

TABLES = {"payments_payment", "ledger_account", "ledger_entry", "merchants_merchant", "terminals_terminal",
          "audit_auditchain", "merchants_mcc", "core_outboxevent", "settlement_payout"}

WRONG = [
    # Django's save() / .update() by primary key: fans out to every shard.
    ('UPDATE "payments_payment" SET "status" = %s WHERE "payments_payment"."id" = %s', "update", "payments_payment"),
    # Setting merchant_id is not filtering by it.
    ('UPDATE "settlement_payout" SET "merchant_id" = %s WHERE "settlement_payout"."id" = %s',
     "update", "settlement_payout"),
    # UPDATE … FROM joined by id only.
    ("UPDATE ledger_account a SET balance = a.balance + v.d FROM (VALUES (%s, %s)) AS v(id, d) WHERE a.id = v.id",
     "update", "ledger_account"),
    # Inside a CTE.
    ("WITH u AS (UPDATE payments_payment SET status = %s WHERE id = %s RETURNING id) SELECT * FROM u",
     "update", "payments_payment"),
    # A merchant_id in a literal or a comment is not a condition.
    ("UPDATE payments_payment SET memo = 'merchant_id = 1' WHERE id = %s -- merchant_id = %s",
     "update", "payments_payment"),
    ('DELETE FROM "payments_payment" WHERE "payments_payment"."id" IN (%s, %s)', "delete", "payments_payment"),
    ('SELECT "payments_payment"."id" FROM "payments_payment" WHERE "payments_payment"."id" = %s LIMIT 21 FOR UPDATE',
     "lock", "payments_payment"),
    ("SELECT id FROM payments_payment WHERE id = %s FOR NO KEY UPDATE NOWAIT", "lock", "payments_payment"),
    ("SELECT id FROM payments_payment WHERE id = %s FOR SHARE", "lock", "payments_payment"),
    ("SELECT id FROM payments_payment WHERE id = %s FOR KEY SHARE", "lock", "payments_payment"),
    # A join locks both tables; the account is not filtered by merchant.
    ("SELECT * FROM payments_payment p JOIN ledger_account a ON a.id = p.account_id "
     "WHERE p.merchant_id = %s FOR UPDATE", "lock", "ledger_account"),
    # Only the table named after OF is locked: that one must be filtered.
    ("SELECT * FROM payments_payment p JOIN ledger_account a ON a.id = p.account_id "
     "WHERE a.merchant_id = %s AND p.id = %s FOR UPDATE OF p SKIP LOCKED", "lock", "payments_payment"),
    # The ledger writer's conflict target today.
    ("INSERT INTO ledger_account (id, balance) SELECT * FROM x ON CONFLICT (id) "
     "DO UPDATE SET balance = ledger_account.balance + EXCLUDED.balance", "conflict", "ledger_account"),
    # A named constraint: its columns cannot be seen (a listed false positive).
    ("INSERT INTO ledger_entry (merchant_id, id) VALUES (%s, %s) ON CONFLICT ON CONSTRAINT k DO NOTHING",
     "conflict", "ledger_entry"),
    # The merchants table is distributed by its id: a lock by its merchant_no fans out.
    ("SELECT id FROM merchants_merchant WHERE merchant_no = %s FOR UPDATE", "lock", "merchants_merchant"),
    # Several merchants' rows locked at once: a lock must be one merchant's (one shard).
    ("SELECT id FROM settlement_payout WHERE merchant_id IN (%s, %s) AND id IN (%s, %s) FOR UPDATE",
     "lock", "settlement_payout"),
    # Django's select_related of a key between merchant tables: a join on the id alone.
    ('SELECT * FROM "settlement_payout" INNER JOIN "ledger_account" ON ("settlement_payout"."account_id" = '
     '"ledger_account"."id") WHERE "settlement_payout"."merchant_id" = %s', "join", "ledger_account"),
    ("SELECT 1 FROM ledger_entry e LEFT OUTER JOIN ledger_account a ON a.id = e.account_id AND a.merchant_id IN (%s)",
     "join", "ledger_account"),
    # A CTE's column list over a UNION: Citus's planner fails on it, whatever it reads.
    ("WITH x (merchant_id, n) AS (SELECT merchant_id, 1 FROM a UNION ALL SELECT merchant_id, 2 FROM b)"
     " SELECT * FROM x", "cte_columns", "x"),
    ("WITH t AS (SELECT 1), legs (a, b) AS MATERIALIZED (SELECT 1, 2 EXCEPT SELECT 3, 4) SELECT * FROM legs",
     "cte_columns", "legs"),
]

RIGHT = [
    'UPDATE "payments_payment" SET "status" = %s WHERE ("payments_payment"."merchant_id" = %s '
    'AND "payments_payment"."id" = %s)',
    "UPDATE ledger_account a SET balance = a.balance + v.d FROM v WHERE a.merchant_id = v.merchant_id AND a.id = v.id",
    "UPDATE payments_payment SET status = %s WHERE merchant_id IN (%s, %s) AND id = %s",
    "DELETE FROM payments_payment p WHERE p.merchant_id = %s AND p.id = %s",
    'SELECT "payments_payment"."id" FROM "payments_payment" WHERE ("payments_payment"."merchant_id" = %s '
    'AND "payments_payment"."id" = %s) LIMIT 21 FOR NO KEY UPDATE',
    "SELECT * FROM payments_payment p JOIN ledger_account a ON a.merchant_id = p.merchant_id AND a.id = p.account_id "
    "WHERE p.merchant_id = %s FOR UPDATE",
    "SELECT * FROM payments_payment p JOIN ledger_account a ON a.merchant_id = p.merchant_id "
    "AND a.id = p.account_id WHERE p.merchant_id = %s AND p.id = %s FOR UPDATE OF p",
    "SELECT id FROM payments_payment WHERE %s = merchant_id FOR SHARE",
    "INSERT INTO ledger_account (merchant_id, id, balance) VALUES (%s, %s, %s) ON CONFLICT (merchant_id, id) "
    "DO UPDATE SET balance = ledger_account.balance + EXCLUDED.balance",
    "INSERT INTO ledger_entry (merchant_id, id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
    "UPDATE merchants_merchant SET status = %s WHERE merchants_merchant.id = %s",
    # Not merchant tables: a platform table, a reference table, a name that is no product table.
    "INSERT INTO audit_auditchain (chain, seq, hash) VALUES (%s, 0, %s) ON CONFLICT (chain) DO NOTHING",
    "UPDATE merchants_mcc SET name = %s WHERE code = %s",
    'UPDATE "terminals_terminal" SET "merchant_id" = %s WHERE "terminals_terminal"."id" = %s',  # a reference table
    "UPDATE pg_temp_rows SET x = 1 WHERE id = %s",
    # Plain reads and inserts route by the row's merchant_id: nothing to check.
    "SELECT * FROM payments_payment WHERE id = %s",
    "INSERT INTO payments_payment (id, merchant_id, status) VALUES (%s, %s, %s)",
    "SELECT updated_at FROM payments_payment WHERE merchant_id = %s",
    # Joins on the merchant (the merchants table: its id), or to a reference table.
    "SELECT 1 FROM ledger_entry e JOIN ledger_account a ON a.merchant_id = e.merchant_id AND a.id = e.account_id",
    'SELECT * FROM "payments_payment" INNER JOIN "merchants_merchant" ON ("payments_payment"."merchant_id" = '
    '"merchants_merchant"."id") WHERE "payments_payment"."id" = %s',
    "SELECT * FROM payments_payment p JOIN terminals_terminal t ON t.id = p.terminal_id",
    "SELECT * FROM payments_payment p JOIN (SELECT id FROM ledger_entry) x ON x.id = p.id",
    # The columns named in the first branch; a column list over no set operation.
    "WITH x AS (SELECT merchant_id, 1 AS n FROM a UNION ALL SELECT merchant_id, 2 FROM b) SELECT * FROM x",
    "WITH x (merchant_id, n) AS (SELECT merchant_id, (SELECT 1 UNION SELECT 2) FROM a) SELECT * FROM x",
    "INSERT INTO t (a, b) SELECT 1, 2 UNION ALL SELECT 3, 4",
]


@pytest.mark.parametrize(("sql", "kind", "table"), WRONG)
def test_a_wrong_statement_is_named_with_its_kind_and_table(sql: str, kind: str, table: str) -> None:
    assert Offence(kind, table) in offences(sql, TABLES), sql


@pytest.mark.parametrize("sql", RIGHT)
def test_a_statement_filtered_by_merchant_passes(sql: str) -> None:
    assert offences(sql, TABLES) == (), sql


def test_without_the_products_tables_every_unclassified_name_is_a_merchant_table() -> None:
    assert offences("UPDATE pg_temp_rows SET x = 1 WHERE id = %s") == (Offence("update", "pg_temp_rows"),)


def _product_function(module: str, body: str) -> Any:
    """A function whose frame says it is in `module`, as the product's own would."""
    namespace: dict[str, Any] = {"__name__": module, "sys": sys}
    exec(compile(f"def sends(run):\n    {body}\n", f"<{module}>", "exec"), namespace)
    return namespace["sends"]


def test_the_origin_is_the_products_function_not_a_line_and_not_the_plumbing() -> None:
    via_plumbing = _product_function("daozhang.core.db", "return run()")
    service = _product_function("daozhang.payments.services", "return via(run)")
    service.__globals__["via"] = via_plumbing
    assert service(lambda: origin(sys._getframe(1))) == "daozhang.payments.services:sends"
    migration = _product_function("daozhang.ledger.migrations.0002_x", "return run()")
    assert migration(lambda: origin(sys._getframe(1))) is None  # run before the database is distributed
    assert origin(sys._getframe()) is None  # the tests' own statements are not the product's


def test_the_recorder_keeps_one_example_per_offender_and_runs_the_statement() -> None:
    recorder = sqlcheck.Recorder(lambda: TABLES)
    ran: list[str] = []

    def execute(sql: str, params: Any, many: bool, context: Any) -> str:
        ran.append(sql)
        return "rows"

    void = _product_function("daozhang.payments.services", "return run()")
    wrong = 'UPDATE "payments_payment" SET "status" = %s WHERE "payments_payment"."id" = %s'
    for _ in range(2):
        assert void(lambda: recorder(execute, wrong, ["x", 1], False, {})) == "rows"
    assert void(lambda: recorder(execute, RIGHT[0], None, False, {})) == "rows"
    recorder(execute, wrong, None, True, {})  # from a test: not the product's
    assert len(ran) == 4
    assert recorder.found == {"update: payments_payment: daozhang.payments.services:sends": " ".join(wrong.split())}


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_postgresql_pass_records_every_connection_and_the_server_bound_statements(db: Any) -> None:
    """The recorder is on the tests' connection, and core.db's statements sent on a raw
    psycopg cursor (the online sale's write) pass through execute wrappers too."""
    from daozhang.core.db import execute_server_bound

    connection.ensure_connection()
    assert any(isinstance(w, sqlcheck.Recorder) for w in connection.execute_wrappers)
    seen: list[str] = []

    def spy(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        assert execute_server_bound("SELECT %s::int + 1", [1]) == [(2,)]
    assert seen == ["SELECT %s::int + 1"]


def _session() -> Any:
    from types import SimpleNamespace

    lines: list[str] = []
    config = SimpleNamespace(get_terminal_writer=lambda: SimpleNamespace(line=lambda text, **kw: lines.append(text)))
    return SimpleNamespace(config=config, exitstatus=0, lines=lines)


def test_the_end_of_the_postgresql_pass_fails_on_any_offender_and_shows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from daozhang.testing import pytest_pg

    recorder = sqlcheck.Recorder(lambda: TABLES)
    recorder.found = {"update: payments_payment: daozhang.payments.services:void": "UPDATE payments_payment …"}
    monkeypatch.setattr(pytest_pg, "_recorder", recorder)
    session = _session()
    pytest_pg.pytest_sessionfinish(session, 0)
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED
    text = "\n".join(session.lines)
    assert "update: payments_payment: daozhang.payments.services:void" in text and "e.g. UPDATE" in text

    recorder.found = {}
    clean = _session()
    pytest_pg.pytest_sessionfinish(clean, 0)
    assert clean.exitstatus == 0 and clean.lines == []
