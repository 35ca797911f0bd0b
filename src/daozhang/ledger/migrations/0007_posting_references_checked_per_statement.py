"""PostgreSQL: a posting's entry and account are checked once per INSERT statement, not
by a foreign-key trigger per row at COMMIT.

The two foreign keys of `ledger_posting` (to `ledger_entry` and `ledger_account`) cost a
lookup with a row lock (`SELECT … FOR KEY SHARE`) per posting, queued until COMMIT: a
third of a settlement chunk's commit time, and six lookups per online sale. The
statement-level guard of 0004 already looks up every new posting's entry (to refuse
postings for an entry of an earlier transaction); it now also refuses a posting whose
entry or account does not exist, over the statement's new rows at once. What the foreign
keys also prevented, deleting a referenced row, stays refused: entries are immutable
(0002), and an account that has postings cannot be deleted (`ledger_account_in_use`).

Only PostgreSQL changes. SQLite keeps its foreign keys: there they are cheap in-process
checks, and removing them would rebuild the table (dropping the immutability triggers).
"""

import django.db.models.deletion
from django.db import migrations, models

GUARD = """
CREATE OR REPLACE FUNCTION ledger_postings_need_open_entry() RETURNS trigger AS $$
DECLARE missing uuid; closed uuid;
BEGIN
  -- Scalar subqueries: always primary-key probes, whatever the planner thinks of the
  -- transition table's size (a join could pick a scan of the whole table; see 0004).
  SELECT n.entry_id INTO closed
    FROM new_postings n
   WHERE (SELECT e.created_xact = pg_current_xact_id() FROM ledger_entry e WHERE e.id = n.entry_id) IS NOT TRUE
   LIMIT 1;
  IF FOUND THEN
    IF NOT EXISTS (SELECT 1 FROM ledger_entry e WHERE e.id = closed) THEN
      RAISE EXCEPTION 'ledger posting refers to entry %, which does not exist', closed
        USING ERRCODE = 'foreign_key_violation';
    END IF;
    RAISE EXCEPTION 'ledger entry % was written by an earlier transaction: its postings are final, post a correcting entry instead', closed
      USING ERRCODE = 'check_violation';
  END IF;
  SELECT n.account_id INTO missing
    FROM new_postings n
   WHERE (SELECT true FROM ledger_account a WHERE a.id = n.account_id) IS NULL
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger posting refers to account %, which does not exist', missing
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ledger_account_in_use() RETURNS trigger AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM ledger_posting p WHERE p.account_id = OLD.id) THEN
    RAISE EXCEPTION 'ledger account % has postings: it cannot be deleted', OLD.code
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN OLD;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_account_in_use BEFORE DELETE ON ledger_account
  FOR EACH ROW EXECUTE FUNCTION ledger_account_in_use();
"""

OLD_GUARD = """
CREATE OR REPLACE FUNCTION ledger_postings_need_open_entry() RETURNS trigger AS $$
DECLARE closed uuid;
BEGIN
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

DROP TRIGGER IF EXISTS ledger_account_in_use ON ledger_account;
DROP FUNCTION IF EXISTS ledger_account_in_use();
ALTER TABLE ledger_posting
  ADD CONSTRAINT ledger_posting_entry_id_fk_ledger_entry_id FOREIGN KEY (entry_id)
    REFERENCES ledger_entry (id) DEFERRABLE INITIALLY DEFERRED,
  ADD CONSTRAINT ledger_posting_account_id_fk_ledger_account_id FOREIGN KEY (account_id)
    REFERENCES ledger_account (id) DEFERRABLE INITIALLY DEFERRED;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cur:
        cur.execute("SELECT conname FROM pg_constraint WHERE conrelid = 'ledger_posting'::regclass AND contype = 'f'")
        for (name,) in cur.fetchall():
            schema_editor.execute(f'ALTER TABLE ledger_posting DROP CONSTRAINT "{name}"')
    schema_editor.execute(GUARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(OLD_GUARD, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0006_drop_redundant_fk_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="posting", name="entry",
                    field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="postings", to="ledger.entry")),
                migrations.AlterField(
                    model_name="posting", name="account",
                    field=models.ForeignKey(db_constraint=False, db_index=False,
                                            on_delete=django.db.models.deletion.PROTECT, related_name="postings",
                                            to="ledger.account")),
            ],
            database_operations=[migrations.RunPython(forward, backward)],
        ),
    ]
