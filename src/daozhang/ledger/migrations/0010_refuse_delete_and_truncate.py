"""Entries and postings refuse DELETE on SQLite too, and TRUNCATE on PostgreSQL.

0002 left DELETE possible on SQLite because test-database flushes used it; the tests now
flush with the triggers lifted for the flush alone (daozhang.testing.pytest_pg), so the
application never can. PostgreSQL refused UPDATE and DELETE per row since 0002, but
TRUNCATE fires no row trigger: a statement trigger refuses it now. (The application's
role has no TRUNCATE right either, and cannot disable triggers: docs/operations.md.)
"""

from django.db import migrations

PG_FORWARD = """
CREATE TRIGGER ledger_posting_no_truncate BEFORE TRUNCATE ON ledger_posting
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_entry
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS ledger_posting_no_truncate ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_entry_no_truncate ON ledger_entry;
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER ledger_posting_no_delete BEFORE DELETE ON ledger_posting
       BEGIN SELECT RAISE(ABORT, 'ledger postings are immutable: post a correcting entry instead'); END""",
    """CREATE TRIGGER ledger_entry_no_delete BEFORE DELETE ON ledger_entry
       BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable: post a correcting entry instead'); END""",
]
SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS ledger_posting_no_delete", "DROP TRIGGER IF EXISTS ledger_entry_no_delete"]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0009_sqlite_64bit_guard")]
    operations = [migrations.RunPython(forward, backward)]
