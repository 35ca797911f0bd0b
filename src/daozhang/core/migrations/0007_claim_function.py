"""`daozhang_claim(k, merchant_id, scope, key)`: try the exactly-once lock of a key and, if
taken, read the answer stored under it, in one call a query can make (core.once).

VOLATILE and PL/pgSQL on purpose: the read inside runs with a snapshot of its own, taken
after the lock, so it sees an answer committed by the request that held the lock just
before (a plain `SELECT pg_try_advisory_lock(…), (SELECT …)` reads with the snapshot taken
when the statement began, which can be older than that commit).
"""

from django.db import migrations

from daozhang.core.migration_ops import postgres_sql

FORWARD = """
CREATE OR REPLACE FUNCTION daozhang_claim(k bigint, m uuid, s text, ky text,
    OUT taken boolean, OUT request_hash text, OUT status_code smallint, OUT body jsonb)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  taken := pg_try_advisory_lock(k);
  IF taken THEN
    SELECT r.request_hash, r.status_code, r.body INTO request_hash, status_code, body
      FROM core_idempotencyrecord r WHERE r.merchant_id = m AND r.scope = s AND r.key = ky;
  END IF;
END
$$;
"""
BACKWARD = "DROP FUNCTION IF EXISTS daozhang_claim(bigint, uuid, text, text);"


class Migration(migrations.Migration):
    dependencies = [("core", "0006_drop_periodicrun")]

    operations = [postgres_sql(FORWARD, BACKWARD)]
