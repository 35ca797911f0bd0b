"""Entries and postings refuse DELETE on SQLite too, and TRUNCATE on PostgreSQL.

0002 left DELETE possible on SQLite because test-database flushes used it; the tests now
flush with the triggers lifted for the flush alone (daozhang.testing.pytest_pg), so the
application never can. PostgreSQL refused UPDATE and DELETE per row since 0002, but
TRUNCATE fires no row trigger: a statement trigger refuses it now. (The application's
role has no TRUNCATE right either, and cannot disable triggers: docs/operations.md.)
"""

from django.db import migrations

from daozhang.core.migration_ops import per_database

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


class Migration(migrations.Migration):
    dependencies = [("ledger", "0009_sqlite_64bit_guard")]
    operations = [per_database({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD},
                               {"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD})]
