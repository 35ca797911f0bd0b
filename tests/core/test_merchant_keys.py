"""Issue 12: tables keyed (merchant_id, id) by core.migration_ops.MerchantKeys, and every
lock and update of them by the merchant too (core.keyed), so a distributed engine routes
each statement to one merchant's shard."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from daozhang.core.migration_ops import MerchantKeys
from daozhang.risk.models import RiskHold
from daozhang.risk.services import hold_funds, release_hold
from daozhang.support.models import CaseEvent, SupportCase
from daozhang.support.services import add_case_note, open_case, set_case_status
from daozhang.testing.tamper import tampering

CONVERTED = ["support_supportcase", "support_caseevent", "settlement_adjustment", "risk_riskhold",
             "merchants_settlementaccount", "access_apikey",
             "settlement_settlementbatch", "settlement_payout", "core_idempotencyrecord",
             "merchants_merchantuser"]

_PK = """SELECT array_agg(a.attname ORDER BY array_position(k.conkey, a.attnum)) FROM pg_constraint k
JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey)
WHERE k.conrelid = %s::regclass AND k.contype = %s GROUP BY k.conname ORDER BY k.conname"""


def keys(cur, table: str, kind: str) -> list[list[str]]:
    cur.execute(_PK, [table, kind])
    return [list(row[0]) for row in cur.fetchall()]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.parametrize("table", CONVERTED)
def test_a_converted_table_is_keyed_by_merchant_and_id(db, table):
    with connection.cursor() as cur:
        assert keys(cur, table, "p") == [["merchant_id", "id"]]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_event_points_at_its_case_by_merchant(db):
    with connection.cursor() as cur:
        fks = keys(cur, "support_caseevent", "f")
    assert ["merchant_id", "case_id"] in fks and ["case_id"] not in fks


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_merchant_keys_is_reversible(transactional_db):
    """Backward gives back (id) and the pointing key on (case_id); forward again the
    composite ones: run as the tables' owner, inside a transaction rolled back."""
    case_op = MerchantKeys("support_supportcase")
    with tampering(lift_guards=False) as cur:
        cur.execute("BEGIN")
        try:
            case_op.rekey(cur, ["id"])
            assert keys(cur, "support_supportcase", "p") == [["id"]]
            assert ["case_id"] in keys(cur, "support_caseevent", "f")
            case_op.rekey(cur, ["merchant_id", "id"])
            assert keys(cur, "support_supportcase", "p") == [["merchant_id", "id"]]
            assert ["merchant_id", "case_id"] in keys(cur, "support_caseevent", "f")
        finally:
            cur.execute("ROLLBACK")


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_table_pointing_without_merchant_stops_the_conversion(transactional_db):
    with tampering(lift_guards=False) as cur:
        cur.execute("BEGIN")
        try:
            cur.execute("CREATE TABLE demo_keyed (id uuid PRIMARY KEY, merchant_id uuid)")
            cur.execute("CREATE TABLE demo_lonely (id uuid PRIMARY KEY, k uuid REFERENCES demo_keyed (id))")
            with pytest.raises(ValueError, match=r"demo_lonely\.k points at demo_keyed"):
                MerchantKeys("demo_keyed").rekey(cur, ["merchant_id", "id"])
        finally:
            cur.execute("ROLLBACK")


def _touching(queries: list[dict[str, str]], table: str) -> list[str]:
    return [q["sql"] for q in queries if f'"{table}"' in q["sql"]
            and (re.match(r"\s*UPDATE\b", q["sql"]) or "FOR UPDATE" in q["sql"])]


def test_working_a_case_locks_and_updates_it_by_merchant(merchant_kit):
    """The staff's note and status change know only the case's id: the row is still locked
    and updated by (merchant_id, id), and the events carry the merchant."""
    case = open_case(merchant=merchant_kit.merchant, kind="missing_money", subject="钱没到 money missing",
                     diagnosis={}, actor="merchant:test")
    with CaptureQueriesContext(connection) as ctx:
        add_case_note(case_id=case.id, note="查看中 looking", actor="staff:cs")
        set_case_status(case_id=case.id, status="resolved", note="已重新出款 paid again", actor="staff:cs")
    sent = _touching(ctx.captured_queries, "support_supportcase")
    # two locks (SQLite has no FOR UPDATE: it locks the file) and two updates
    assert len(sent) == (4 if connection.vendor == "postgresql" else 2), sent
    assert all('"support_supportcase"."merchant_id" =' in sql for sql in sent), sent
    assert SupportCase.objects.get(id=case.id).status == "resolved"
    assert set(CaseEvent.objects.filter(case=case).values_list("merchant_id", flat=True)) == {
        merchant_kit.merchant.id}
    assert CaseEvent.objects.filter(case=case).count() == 3


def test_releasing_a_hold_locks_and_updates_it_by_merchant(merchant_kit):
    merchant_kit.sale(20000)
    hold = hold_funds(merchant_id=merchant_kit.merchant.id, amount=5000, case_ref="RK-K-1", reason="核查",
                      actor="staff:risk")
    with CaptureQueriesContext(connection) as ctx:
        release_hold(hold_id=hold.id, note="查清 cleared", actor="staff:risk")
    sent = _touching(ctx.captured_queries, "risk_riskhold")
    assert len(sent) == (2 if connection.vendor == "postgresql" else 1), sent
    assert all('"risk_riskhold"."merchant_id" =' in sql for sql in sent), sent
    assert RiskHold.objects.get(id=hold.id).released_at is not None


def test_an_api_call_marks_its_key_used_by_merchant(merchant_kit):
    """The key is found by its hash (the merchant is not known yet); its last use is then
    written by (merchant_id, id)."""
    with CaptureQueriesContext(connection) as ctx:
        assert merchant_kit.client.get("/api/v1/settlements").status_code == 200
    sent = _touching(ctx.captured_queries, "access_apikey")
    assert len(sent) == 1 and '"access_apikey"."merchant_id" =' in sent[0], sent
