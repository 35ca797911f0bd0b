"""Issue 11 item 6, "books and audit that cannot be edited quietly", as the attacks that
found it: what the database refuses to the application's role, and what `ledger check`
finds once someone with more rights (the tables' owner, or the SQLite file) went around it.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from daozhang.audit import services as audit
from daozhang.audit.models import AuditEvent
from daozhang.ledger.accounts import merchant_payable
from daozhang.ledger.models import Entry, Posting
from daozhang.ledger.selectors import check_ledger
from daozhang.risk.services import hold_funds
from daozhang.settlement.adjustments import adjust
from daozhang.settlement.models import Payout, SettlementBatch
from daozhang.testing.tamper import db_id, tampering
from tests.settlement_helpers import Clock

pg_only = pytest.mark.skipif("connection.vendor != 'postgresql'")
REFUSED = "immutable|permission denied"


def failing(result) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for f in result.findings:
        found.setdefault(f.check, []).append(f.ref)
    return found


def _posted(kit) -> tuple[Entry, Posting]:
    r = kit.sale(10000)
    assert r.json()["status"] == "approved", r.content
    entry = Entry.objects.get(idempotency_key=f"payment:{r.json()['id']}:sale")
    return entry, Posting.objects.filter(entry=entry).first()  # type: ignore[return-value]


# --- what the application's role is refused --------------------------------------------


@pytest.mark.parametrize("sql", [
    "UPDATE ledger_posting SET amount = amount + 1 WHERE id = %s",
    "DELETE FROM ledger_posting WHERE id = %s",
    "UPDATE audit_auditevent SET actor = 'nobody' WHERE merchant_id IS NULL OR id <> %s",
    "DELETE FROM audit_auditevent WHERE merchant_id IS NULL OR id <> %s",
])
def test_the_application_cannot_edit_or_delete_postings_or_audit_rows(merchant_kit, sql):
    """SQLite: the triggers refuse; PostgreSQL: the role's rights, before any trigger."""
    _, posting = _posted(merchant_kit)
    audit.record(actor="test", action="test.row", obj_type="test", obj_id=1)
    before = (list(Posting.objects.values_list("id", "amount")), list(AuditEvent.objects.values_list("id", "actor")))
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, [db_id(posting.id)])
    assert (list(Posting.objects.values_list("id", "amount")),
            list(AuditEvent.objects.values_list("id", "actor"))) == before


@pg_only
@pytest.mark.parametrize(("sql", "message"), [
    ("TRUNCATE ledger_posting", "permission denied for table ledger_posting"),
    ("TRUNCATE ledger_entry CASCADE", "permission denied for table ledger_entry"),
    ("TRUNCATE audit_auditevent", "permission denied for table audit_auditevent"),
    ("ALTER TABLE ledger_posting DISABLE TRIGGER ALL", "must be owner of table ledger_posting"),
    ("ALTER TABLE audit_auditevent DISABLE TRIGGER USER", "must be owner of table audit_auditevent"),
    ("DROP TRIGGER ledger_posting_immutable ON ledger_posting", "must be owner of"),
    ("SET session_replication_role = replica", "permission denied to set parameter"),
    ("CREATE FUNCTION ledger_refuse_change() RETURNS trigger AS 'BEGIN RETURN NULL; END' LANGUAGE plpgsql",
     "permission denied for schema public"),
])
def test_postgres_the_application_role_cannot_go_around_the_triggers(merchant_kit, sql, message):
    """Issue 11: TRUNCATE, DISABLE TRIGGER and session_replication_role=replica all passed
    while the application connected as the tables' owner."""
    _posted(merchant_kit)
    n = (Posting.objects.count(), AuditEvent.objects.count())
    with pytest.raises(DatabaseError, match=message), transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql)
    assert (Posting.objects.count(), AuditEvent.objects.count()) == n
    with connection.cursor() as cur:
        cur.execute("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles"
                    " WHERE rolname = current_user")
        assert cur.fetchone() == (False, False, False, False)
        cur.execute("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
        assert cur.fetchone() == (0,)


@pg_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sql", ["TRUNCATE ledger_posting", "TRUNCATE ledger_entry CASCADE",
                                 "TRUNCATE audit_auditevent", "UPDATE audit_auditevent SET actor = 'x'",
                                 "DELETE FROM audit_auditevent"])
def test_postgres_even_the_owner_is_refused_while_the_triggers_are_on(make_merchant, sql):
    _posted(make_merchant())
    n = (Posting.objects.count(), AuditEvent.objects.count())
    with pytest.raises(psycopg.Error, match="immutable"), tampering(lift_guards=False) as cur:
        cur.execute(sql)
    assert (Posting.objects.count(), AuditEvent.objects.count()) == n


# --- what `ledger check` finds once someone went around the database ----------------------


@pytest.mark.django_db(transaction=True)
def test_an_orphan_posting_with_its_balance_adjusted_is_found(make_merchant):
    """Issue 11: a posting of no entry, its account's balance moved to match, passed the check."""
    kit = make_merchant()
    _posted(kit)
    assert check_ledger().ok
    payable = merchant_payable(kit.merchant.id)
    orphan = uuid.uuid4()
    with tampering() as cur:
        cur.execute("INSERT INTO ledger_posting (id, entry_id, account_id, merchant_id, amount, currency)"
                    " VALUES (%s, %s, %s, %s, %s, 'CNY')",
                    [db_id(orphan), db_id(uuid.uuid4()), db_id(payable.id), db_id(kit.merchant.id), -100_000_00])
        cur.execute("UPDATE ledger_account SET balance = balance - 10000000 WHERE id = %s", [db_id(payable.id)])
    result = check_ledger()
    assert (result.unbalanced_count, result.wrong_count) == (0, 0)  # what passed before
    assert not result.ok
    assert failing(result) == {"ledger.orphan_postings": [f"posting:{orphan}"], "ledger.global_sum": ["currency:CNY"],
                               "ledger.merchant_sum": [f"merchant:{kit.merchant.id}"]}
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match=r"3 of \d+ consistency checks failing"):
        call_command("ledger", "check", stdout=out, stderr=err)
    assert f"ledger.orphan_postings: posting:{orphan}: entry " in err.getvalue()


def _delete_entry_consistently(cur, entry_id: uuid.UUID) -> None:
    """Remove an entry, its postings, and their effect on the balances: the ledger still
    agrees with itself."""
    rows = cur.execute("SELECT account_id, amount FROM ledger_posting WHERE entry_id = %s",
                       [db_id(entry_id)]).fetchall()
    for account_id, amount in rows:
        cur.execute("UPDATE ledger_account SET balance = balance - %s WHERE id = %s", [amount, account_id])
    cur.execute("DELETE FROM ledger_posting WHERE entry_id = %s", [db_id(entry_id)])
    cur.execute("DELETE FROM ledger_entry WHERE id = %s", [db_id(entry_id)])


@pytest.mark.django_db(transaction=True)
def test_a_sale_entry_deleted_consistently_is_found_by_its_payment(make_merchant):
    """Issue 11: entry, postings and balances removed together passed the check."""
    kit = make_merchant()
    entry, _ = _posted(kit)
    kept, _ = _posted(kit)
    with tampering() as cur:
        _delete_entry_consistently(cur, entry.id)
    result = check_ledger()
    assert (result.unbalanced_count, result.wrong_count) == (0, 0)
    assert failing(result) == {"payments.sale_entry_missing": [entry.business_ref]}
    assert kept.business_ref != entry.business_ref


@pytest.mark.django_db(transaction=True)
def test_a_forged_balanced_entry_for_no_payment_is_found(make_merchant):
    """The application's role may insert entries: a balanced one crediting a merchant for a
    payment that does not exist passes the ledger's own rules, not the payments' check."""
    from daozhang.ledger.services import post_entry
    from daozhang.payments.ledger_entries import sale_entry

    kit = make_merchant()
    _posted(kit)
    ghost = uuid.uuid4()
    with transaction.atomic():
        post_entry(sale_entry(payment_id=ghost, merchant_id=kit.merchant.id, channel="card", amount=500_000_00,
                              fee=0, business_date=dt.date.today()))
    result = check_ledger()
    assert failing(result) == {"payments.entry_without_payment": [f"payment:{ghost}"]}


@pytest.mark.django_db(transaction=True)
def test_batch_net_payout_amount_adjustment_and_hold_edited_or_unbooked_are_found(make_merchant, monkeypatch):
    """Issue 11 item 4's attack (+¥1,000,000 written into a batch's net) and its kin."""
    clock = Clock(monkeypatch)
    kit = make_merchant()
    clock.at(2026, 11, 2, 10, 0)
    _posted(kit)
    _posted(kit)
    clock.settle(2026, 11, 2)
    batch = SettlementBatch.objects.get(merchant=kit.merchant)
    clock.pay(2026, 11, 3)
    payout = Payout.objects.get(batch=batch)
    clock.at(2026, 11, 3, 10, 0)
    _posted(kit)
    adj = adjust(merchant_id=kit.merchant.id, amount=-300, reason="terminal rent", actor="staff:test")
    hold = hold_funds(merchant_id=kit.merchant.id, amount=1000, case_ref="C1", reason="chargeback risk",
                      actor="staff:test")
    assert payout.status == "paid"
    assert check_ledger().ok

    adj_entry = Entry.objects.get(business_ref=f"adjustment:{adj.id}")
    hold_entry = Entry.objects.get(idempotency_key=f"hold:{hold.id}")
    with tampering() as cur:
        cur.execute("UPDATE settlement_settlementbatch SET net = net + 100000000 WHERE id = %s", [db_id(batch.id)])
        cur.execute("UPDATE settlement_payout SET amount = amount + 100000000 WHERE id = %s", [db_id(payout.id)])
        cur.execute("UPDATE settlement_adjustment SET amount = -3 WHERE id = %s", [db_id(adj.id)])
        _delete_entry_consistently(cur, hold_entry.id)
    result = check_ledger()
    assert (result.unbalanced_count, result.wrong_count) == (0, 0)
    assert failing(result) == {
        "settlement.batch_net": [f"batch:{batch.id}"],
        "settlement.payout_amount": [f"payout:{payout.id}"],
        "settlement.payout_vs_batch": [f"payout:{payout.id}"],
        "settlement.adjustment_amount": [f"adjustment:{adj.id}"],
        "risk.hold_entry_missing": [f"hold:{hold.id}"],
    }
    assert adj_entry.kind == "settlement.adjustment"


@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_entry_is_deleted_is_found(make_merchant, monkeypatch):
    clock = Clock(monkeypatch)
    kit = make_merchant()
    clock.at(2026, 11, 2, 10, 0)
    _posted(kit)
    clock.settle(2026, 11, 2)
    batch = SettlementBatch.objects.get(merchant=kit.merchant)
    entry = Entry.objects.get(business_ref=f"batch:{batch.id}")
    with tampering() as cur:
        _delete_entry_consistently(cur, entry.id)
    assert failing(check_ledger()) == {"settlement.batch_entry_missing": [f"batch:{batch.id}"]}
