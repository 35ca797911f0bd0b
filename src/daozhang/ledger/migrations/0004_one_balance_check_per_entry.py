"""PostgreSQL: check each entry's balance once, not once per posting and once more per entry.

Until now two deferred constraint triggers summed an entry's postings at commit: one per
posting (0002) and one per entry (0003) — four sums for a three-leg sale. The entry's
trigger alone sees every posting the entry has at commit, so it is enough for entries and
postings written in the same transaction. What the posting trigger also caught was a
posting added LATER to an entry committed before; that is now refused at once, per
statement, by a cheaper guard: every entry remembers the transaction that wrote it
(`created_xact`, filled by its default, never written by the application), and an INSERT
into `ledger_posting` naming an entry of another transaction fails. An entry's postings are
therefore all written in its own transaction, and checked there, once, at commit.

Existing entries get no `created_xact` (NULL: adding the column does not rewrite the
table), which counts as "another transaction": they are closed too.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE ledger_entry ADD COLUMN created_xact xid8;
ALTER TABLE ledger_entry ALTER COLUMN created_xact SET DEFAULT pg_current_xact_id();

CREATE OR REPLACE FUNCTION ledger_postings_need_open_entry() RETURNS trigger AS $$
DECLARE closed uuid;
BEGIN
  -- A scalar subquery per posting: always a primary-key probe. (A join lets the planner,
  -- which cannot know the transition table's size, pick a scan of the whole ledger_entry
  -- table: measured, it made every sale slower as the ledger grew.) No entry at all is
  -- left to the foreign key.
  SELECT n.entry_id INTO closed
    FROM new_postings n
   WHERE (SELECT e.created_xact IS DISTINCT FROM pg_current_xact_id() FROM ledger_entry e WHERE e.id = n.entry_id)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger entry % was written by an earlier transaction: its postings are final, post a correcting entry instead', closed
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_posting_entry_open AFTER INSERT ON ledger_posting
  REFERENCING NEW TABLE AS new_postings
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_need_open_entry();

DROP TRIGGER ledger_posting_balanced ON ledger_posting;
DROP FUNCTION ledger_entry_balanced();
"""

BACKWARD = """
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

DROP TRIGGER IF EXISTS ledger_posting_entry_open ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_postings_need_open_entry();
ALTER TABLE ledger_entry DROP COLUMN IF EXISTS created_xact;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_entry_needs_postings")]
    operations = [migrations.RunPython(forward, backward)]
