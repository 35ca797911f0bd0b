"""PostgreSQL functions the set-based writers call: the same names SQLite gets in process.

`daozhang_uuid7()` makes a UUIDv7 (PostgreSQL 15 has only v4: its random bits with the
current millisecond written over the first six bytes and the version set to 7), so ids
generated inside an `INSERT … SELECT` sort by time like those `core.ids.new_id` makes.
`daozhang_uuid_text(id)` is the standard text form, as `str(uuid)` writes it into
idempotency keys and references. SQLite registers both per connection (core.sqlfunctions).
"""

from django.db import migrations

from daozhang.core.migration_ops import postgres_sql

FORWARD = """
CREATE OR REPLACE FUNCTION daozhang_uuid7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING
    substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6),
    52, 1), 53, 1), 'hex')::uuid
$$;
CREATE OR REPLACE FUNCTION daozhang_uuid_text(id uuid) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT id::text
$$;
"""

BACKWARD = """
DROP FUNCTION IF EXISTS daozhang_uuid7();
DROP FUNCTION IF EXISTS daozhang_uuid_text(uuid);
"""


class Migration(migrations.Migration):
    dependencies = [("core", "0003_alert")]
    operations = [postgres_sql(FORWARD, BACKWARD)]
