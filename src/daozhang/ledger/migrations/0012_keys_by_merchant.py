"""The ledger keyed by merchant, its guards checking within one merchant (decision 0015).

- `merchant_id` NOT NULL on accounts, entries and postings (0011 gave every row an owner).
- Account codes and entry idempotency keys are unique within a merchant; on PostgreSQL the
  primary keys are `(merchant_id, id)` (`core.migration_ops.MerchantKeys`), so the writer's
  account upsert conflicts on `(merchant_id, id)`.
- The shard number of the old hot accounts goes; platform totals are sums by purpose.
- PostgreSQL's guards become row triggers that read only the row's merchant's rows, the
  form a database distributed by merchant (Citus) runs on each shard:
  - a posting's entry must be the posting's merchant's and written by this transaction,
    its account the posting's merchant's (was one statement trigger over the new rows,
    which shards cannot run);
  - the transaction that wrote an entry is set by a BEFORE trigger on the row, not by a
    column default (a default is evaluated where the statement is planned, a coordinator,
    whose transaction id is not the shard's; and a default can be overridden);
  - an entry's balance is summed over its merchant's postings at COMMIT;
  - an account in use cannot be deleted (its merchant's postings are looked at).
SQLite keeps its guards (put back after Django rebuilds the tables), its keys by `id`, and
the foreign keys of ledger_posting, which is not rebuilt: a trigger refuses a posting with
no merchant there.
"""

from django.db import migrations, models

from daozhang.core.migration_ops import MerchantKeys, per_database, postgres_sql, sqlite_triggers_kept

GUARDS = """
CREATE OR REPLACE FUNCTION ledger_entry_stamp_xact() RETURNS trigger AS $$
BEGIN
  NEW.created_xact := pg_current_xact_id();
  RETURN NEW;
END $$ LANGUAGE plpgsql;

ALTER TABLE ledger_entry ALTER COLUMN created_xact DROP DEFAULT;
CREATE TRIGGER ledger_entry_stamp_xact BEFORE INSERT ON ledger_entry
  FOR EACH ROW EXECUTE FUNCTION ledger_entry_stamp_xact();

CREATE OR REPLACE FUNCTION ledger_posting_needs_open_entry() RETURNS trigger AS $$
DECLARE opened xid8;
BEGIN
  SELECT e.created_xact INTO opened FROM ledger_entry e WHERE e.merchant_id = NEW.merchant_id AND e.id = NEW.entry_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'ledger posting refers to entry %, which does not exist for merchant %', NEW.entry_id, NEW.merchant_id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  IF opened IS DISTINCT FROM pg_current_xact_id() THEN
    RAISE EXCEPTION 'ledger entry % was written by an earlier transaction: its postings are final, post a correcting entry instead', NEW.entry_id
      USING ERRCODE = 'check_violation';
  END IF;
  PERFORM 1 FROM ledger_account a WHERE a.merchant_id = NEW.merchant_id AND a.id = NEW.account_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'ledger posting refers to account %, which does not exist for merchant %', NEW.account_id, NEW.merchant_id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

DROP TRIGGER ledger_posting_entry_open ON ledger_posting;
DROP FUNCTION ledger_postings_need_open_entry();
CREATE TRIGGER ledger_posting_entry_open AFTER INSERT ON ledger_posting
  FOR EACH ROW EXECUTE FUNCTION ledger_posting_needs_open_entry();

CREATE OR REPLACE FUNCTION ledger_entry_has_postings() RETURNS trigger AS $$
DECLARE total numeric; n integer;
BEGIN
  SELECT COALESCE(SUM(amount), 0), COUNT(*) INTO total, n
    FROM ledger_posting WHERE merchant_id = NEW.merchant_id AND entry_id = NEW.id;
  IF total <> 0 OR n < 2 THEN
    RAISE EXCEPTION 'ledger entry % does not balance: sum % over % postings', NEW.id, total, n
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ledger_account_in_use() RETURNS trigger AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM ledger_posting p WHERE p.merchant_id = OLD.merchant_id AND p.account_id = OLD.id) THEN
    RAISE EXCEPTION 'ledger account % has postings: it cannot be deleted', OLD.code
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN OLD;
END $$ LANGUAGE plpgsql;
"""

OLD_GUARDS = """
DROP TRIGGER IF EXISTS ledger_entry_stamp_xact ON ledger_entry;
DROP FUNCTION IF EXISTS ledger_entry_stamp_xact();
ALTER TABLE ledger_entry ALTER COLUMN created_xact SET DEFAULT pg_current_xact_id();

DROP TRIGGER IF EXISTS ledger_posting_entry_open ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_posting_needs_open_entry();
CREATE OR REPLACE FUNCTION ledger_postings_need_open_entry() RETURNS trigger AS $$
DECLARE missing uuid; closed uuid;
BEGIN
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
CREATE TRIGGER ledger_posting_entry_open AFTER INSERT ON ledger_posting
  REFERENCING NEW TABLE AS new_postings
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_need_open_entry();

CREATE OR REPLACE FUNCTION ledger_entry_has_postings() RETURNS trigger AS $$
DECLARE total bigint; n integer;
BEGIN
  SELECT COALESCE(SUM(amount), 0), COUNT(*) INTO total, n FROM ledger_posting WHERE entry_id = NEW.id;
  IF total <> 0 OR n < 2 THEN
    RAISE EXCEPTION 'ledger entry % does not balance: sum % over % postings', NEW.id, total, n
      USING ERRCODE = 'check_violation';
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
"""


class Migration(migrations.Migration):

    dependencies = [("ledger", "0011_platform_accounts_per_merchant")]

    operations = [
        *sqlite_triggers_kept(
            ["ledger_account", "ledger_entry"],
            migrations.RemoveIndex(model_name="account", name="ledger_acct_purpose_shard"),
            migrations.RemoveField(model_name="account", name="shard"),
            migrations.AddIndex(model_name="account",
                                index=models.Index(fields=["purpose"], name="ledger_acct_purpose")),
            migrations.AlterField(model_name="account", name="merchant_id", field=models.UUIDField()),
            migrations.AlterField(model_name="entry", name="merchant_id", field=models.UUIDField()),
            migrations.AddConstraint(model_name="account", constraint=models.UniqueConstraint(
                fields=("merchant_id", "code"), name="ledger_account_merchant_code")),
            migrations.AlterField(model_name="account", name="code", field=models.CharField(max_length=120)),
            migrations.AddConstraint(model_name="entry", constraint=models.UniqueConstraint(
                fields=("merchant_id", "idempotency_key"), name="ledger_entry_merchant_key")),
            migrations.AlterField(model_name="entry", name="idempotency_key",
                                  field=models.CharField(max_length=120)),
        ),
        # Not by Django on SQLite: rebuilding ledger_posting there would drop its foreign keys
        # (the model says db_constraint=False, for PostgreSQL's sake: ledger 0007).
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AlterField(model_name="posting", name="merchant_id",
                                                    field=models.UUIDField())],
            database_operations=[per_database(
                {"postgresql": "ALTER TABLE ledger_posting ALTER COLUMN merchant_id SET NOT NULL",
                 "sqlite": "CREATE TRIGGER IF NOT EXISTS ledger_posting_merchant_required BEFORE INSERT"
                           " ON ledger_posting WHEN NEW.merchant_id IS NULL"
                           " BEGIN SELECT RAISE(ABORT, 'NOT NULL constraint failed: ledger_posting.merchant_id'); END"},
                {"postgresql": "ALTER TABLE ledger_posting ALTER COLUMN merchant_id DROP NOT NULL",
                 "sqlite": "DROP TRIGGER IF EXISTS ledger_posting_merchant_required"})],
        ),
        MerchantKeys("ledger_account"),
        MerchantKeys("ledger_entry"),
        MerchantKeys("ledger_posting"),
        postgres_sql(GUARDS, OLD_GUARDS),
    ]
