"""The audit log refuses UPDATE and DELETE on both databases, and TRUNCATE on PostgreSQL.

Nothing in the application changes an audit row after writing it. On PostgreSQL the
application's role also has only INSERT and SELECT on the table (docs/operations.md), so
it can neither remove these triggers nor disable them; the owner role can, and the hash
chains (0002, `daozhang audit verify`) show what it did. On SQLite anyone holding the file
can drop a trigger: there the log is tamper-evident, not tamper-proof.
"""

from django.db import migrations

from daozhang.core.migration_ops import per_database

PG_FORWARD = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit rows are immutable (% refused on %)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER audit_auditevent_immutable BEFORE UPDATE OR DELETE ON audit_auditevent
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_auditevent_no_truncate BEFORE TRUNCATE ON audit_auditevent
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS audit_auditevent_immutable ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_refuse_change();
"""

SQLITE_FORWARD = [
    """CREATE TRIGGER audit_auditevent_immutable BEFORE UPDATE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit rows are immutable (UPDATE refused)'); END""",
    """CREATE TRIGGER audit_auditevent_no_delete BEFORE DELETE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit rows are immutable (DELETE refused)'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS audit_auditevent_immutable",
    "DROP TRIGGER IF EXISTS audit_auditevent_no_delete",
]


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_hash_chains")]
    operations = [per_database({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD},
                               {"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD})]
