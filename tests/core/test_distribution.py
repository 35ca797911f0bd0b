"""Issue 12: can the schema be distributed by merchant (Citus)? The rules of
core/distribution.py, read from the live PostgreSQL catalog the migrations made.

The schema passes every rule (the ratchet list of issue 12's conversion emptied and went):
a new table or key that breaks one fails here at once. The deliberately wrong table below
shows each rule firing.
"""

from __future__ import annotations

import io

import pytest
from django.db import connection

from daozhang.core import distribution
from daozhang.testing.tamper import tampering

pytestmark = pytest.mark.skipif("connection.vendor != 'postgresql'")


def findings(cursor) -> set[str]:
    return {str(f) for f in distribution.check(cursor)}


def test_the_schema_breaks_no_distribution_rule(db):
    with connection.cursor() as cur:
        found = sorted(findings(cur))
    assert not found, "rules of core/distribution.py broken by the schema:\n" + "\n".join(found)


def test_a_deliberately_wrong_table_is_named_for_each_rule(transactional_db):
    """A merchant table keyed by id alone, with a nullable merchant_id, a unique key and a
    foreign key without it, and a trigger that reads another merchant table by id."""
    with tampering(lift_guards=False) as cur:  # as the tables' owner: the application may not create tables
        cur.execute("BEGIN")
        try:
            cur.execute("""
                CREATE TABLE demo_lonely (id uuid PRIMARY KEY, note text);
                CREATE TABLE demo_wrong (id uuid PRIMARY KEY, merchant_id uuid, ref text UNIQUE,
                                         lonely_id uuid REFERENCES demo_lonely (id));
                CREATE FUNCTION demo_wrong_check() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM 1 FROM payments_payment p WHERE p.id = NEW.payment_id;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER demo_wrong_trg BEFORE INSERT ON demo_wrong
                    FOR EACH ROW EXECUTE FUNCTION demo_wrong_check();
            """)
            wrong = sorted(f for f in findings(cur) if f.startswith(("demo_wrong:", "demo_lonely:")))
        finally:
            cur.execute("ROLLBACK")  # nothing of it stays
    assert wrong == [
        "demo_lonely: merchant_id: no merchant_id column",
        "demo_lonely: primary_key: demo_lonely_pkey (id)",
        "demo_wrong: foreign_key: demo_wrong_lonely_id_fkey → demo_lonely (lonely_id)",
        "demo_wrong: nullable: merchant_id may be NULL",
        "demo_wrong: primary_key: demo_wrong_pkey (id)",
        "demo_wrong: trigger: demo_wrong_trg (demo_wrong_check) reads payments_payment without merchant_id",
        "demo_wrong: unique: demo_wrong_ref_key (ref)",
    ], wrong


def test_the_commands_name_the_breaches_and_print_the_citus_statements(db):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("distribution", "check", stdout=out)
    assert out.getvalue().strip() == "the schema can be distributed by merchant / 可按商户分布"
    out = io.StringIO()
    call_command("distribution", "sql", stdout=out)
    sql = out.getvalue().splitlines()
    first_distributed = next(i for i, line in enumerate(sql) if "create_distributed_table" in line)
    assert all("create_reference_table" in line for line in sql[:first_distributed])  # reference tables first
    assert sql[first_distributed] == "SELECT create_distributed_table('merchants_merchant', 'id');"
    assert ("SELECT create_distributed_table('payments_payment', 'merchant_id', colocate_with => "
            "'merchants_merchant');") in sql
    assert "SELECT create_reference_table('settlement_calendarday');" in sql
    assert not any("auth_group" in line or "core_jobrun" in line for line in sql)  # platform tables stay put
