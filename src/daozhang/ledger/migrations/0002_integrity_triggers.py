"""Database-enforced ledger rules.

PostgreSQL: a deferred constraint trigger checks at commit that every entry touched by
the transaction sums to zero and has at least two postings, so no writer (not even a
buggy one or a hand-typed SQL session) can commit an unbalanced entry. Entries and
postings refuse UPDATE and DELETE on both databases: corrections are new entries.
SQLite has no deferred triggers; there the single writer (`ledger.services`) checks the
sum inside the same transaction, and `daozhang ledger check` audits it.
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION ledger_entry_balanced() RETURNS trigger AS $$
DECLARE total bigint; n integer;
BEGIN
  SELECT COALESCE(SUM(amount), 0), COUNT(*) INTO total, n
    FROM ledger_posting WHERE entry_id = NEW.entry_id;
  IF total <> 0 OR n < 2 THEN
    RAISE EXCEPTION 'ledger entry % does not balance: sum % over % postings', NEW.entry_id, total, n
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_posting_balanced
  AFTER INSERT ON ledger_posting DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();

CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'ledger % rows are immutable: post a correcting entry instead', TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_posting_immutable BEFORE UPDATE OR DELETE ON ledger_posting
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_entry_immutable BEFORE UPDATE OR DELETE ON ledger_entry
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_posting_immutable ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_entry_immutable ON ledger_entry;
DROP FUNCTION IF EXISTS ledger_entry_balanced();
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""

# SQLite: UPDATE is refused; DELETE stays possible because test-database flushes use it.
SQLITE_FORWARD = [
    """CREATE TRIGGER ledger_posting_immutable BEFORE UPDATE ON ledger_posting
       BEGIN SELECT RAISE(ABORT, 'ledger postings are immutable'); END""",
    """CREATE TRIGGER ledger_entry_immutable BEFORE UPDATE ON ledger_entry
       BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS ledger_posting_immutable",
    "DROP TRIGGER IF EXISTS ledger_entry_immutable",
]


def forward(apps, schema_editor):
    conn = schema_editor.connection
    if conn.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif conn.vendor == "sqlite":
        for sql in SQLITE_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    conn = schema_editor.connection
    if conn.vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)
    elif conn.vendor == "sqlite":
        for sql in SQLITE_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
