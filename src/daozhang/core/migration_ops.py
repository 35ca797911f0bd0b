"""Operations shared by the project's migrations."""

from __future__ import annotations

from typing import Any

from django.db import migrations

SQL = str | list[str]


def per_database(forward: dict[str, SQL], backward: dict[str, SQL]) -> migrations.RunPython:
    """Run the SQL given for the database's vendor ("postgresql", "sqlite"); nothing for a
    vendor not named: one thing done the way each database does it best. A list is run
    statement by statement (SQLite executes one statement per call)."""

    def run(sql: dict[str, SQL]) -> Any:
        def op(apps: Any, schema_editor: Any) -> None:
            given = sql.get(schema_editor.connection.vendor) or []
            for statement in [given] if isinstance(given, str) else given:
                schema_editor.execute(statement, params=None)
        return op

    return migrations.RunPython(run(forward), run(backward))


def postgres_sql(forward: str, backward: str) -> migrations.RunPython:
    """Run `forward` (and `backward` when unapplied) on PostgreSQL only: triggers, functions
    and storage settings that SQLite has no equivalent for, or gets another way."""
    return per_database({"postgresql": forward}, {"postgresql": backward})


def update_past_guard(schema_editor: Any, table: str, trigger: str, sql: str, params: list[Any]) -> None:
    """Run one UPDATE on an append-only table with its guard `trigger` lifted for it alone,
    in the migration's transaction: for a migration that must fill a new column of old rows
    (the owner runs migrations; the application's role could not). PostgreSQL disables
    and re-enables the trigger; SQLite, which cannot, drops it and creates it again from
    its own SQL."""
    conn = schema_editor.connection
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            cur.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER "{trigger}"')
            cur.execute(sql, params)
            cur.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER "{trigger}"')
            return
        cur.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [trigger])
        (create,) = cur.fetchone()
        cur.execute(f'DROP TRIGGER "{trigger}"')
        cur.execute(sql, params)
        cur.execute(create)


def sqlite_triggers_kept(tables: list[str], *operations: Any) -> list[Any]:
    """`operations`, with the SQLite triggers on `tables` put back after them.

    Django alters a SQLite column (NOT NULL, a unique key dropped) by rebuilding the table,
    which drops its triggers silently: the ledger's immutability and 64-bit guards would be
    gone. Their SQL is read before the operations and run again after (each way round)."""
    saved: list[str] = []
    names = ", ".join(f"'{t}'" for t in tables)

    def save(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "sqlite":
            with schema_editor.connection.cursor() as cur:
                cur.execute(f"SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({names})")  # noqa: S608
                saved[:] = [sql for (sql,) in cur.fetchall()]

    def restore(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "sqlite":
            for sql in saved:
                schema_editor.execute(sql.replace("CREATE TRIGGER ", "CREATE TRIGGER IF NOT EXISTS ", 1), params=None)

    return [migrations.RunPython(save, restore), *operations, migrations.RunPython(restore, save)]


# The catalog queries MerchantKeys reads (PostgreSQL): the foreign keys pointing at a table,
# with their columns on both sides in key order.
_INCOMING = """
SELECT k.conname, s.relname,
       ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i),
       ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i)
FROM pg_constraint k JOIN pg_class s ON s.oid = k.conrelid
WHERE k.contype = 'f' AND k.confrelid = %s::regclass ORDER BY k.conname
"""
_HAS_MERCHANT = """
SELECT 1 FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'merchant_id' AND NOT attisdropped
"""
_PRIMARY = "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'"


class MerchantKeys(migrations.operations.base.Operation):
    """Key a merchant table by `(merchant_id, id)` on PostgreSQL, the way a distributed engine
    sharding by merchant can enforce it (core/distribution.py; docs/operations.md "Scaling out").

    Forward, on PostgreSQL: every foreign key pointing at `table (id)` is dropped, the primary
    key `(id)` becomes `(merchant_id, id)`, and each of those foreign keys comes back as
    `(merchant_id, x_id) REFERENCES table (merchant_id, id)`, same name, deferrable as
    Django makes them. A table whose foreign keys point at an unconverted table keeps them
    until that table is converted (its own MerchantKeys turns them, being "incoming" there);
    a pointing table without `merchant_id` stops the migration: add it (filled) first.
    Unique keys are the model's business (`UniqueConstraint(fields=["merchant", ...])`):
    Django then keeps them on both databases.

    On SQLite nothing: one machine, its keys by `id` stay, and so do Django's foreign keys.

    The models keep `id` as their `pk` (Django 5.2's composite primary keys cannot be
    foreign-key targets nor in the admin) and keep their ForeignKey fields as they are,
    `db_constraint` included. Why not `db_constraint=False`: SQLite would lose its foreign
    key at the next rebuild of the table, silently. With the constraint left declared,
    Django only ever drops a foreign key it finds by its exact column list `(x_id)`, so it
    never finds, drops or recreates the composite one; a new ForeignKey to a converted table
    fails loudly on PostgreSQL (no unique key on `id` alone) and the catalog check of
    tests/core/test_distribution.py names any id-only key: convert it with this operation.

    Backward restores the primary key `(id)` and the pointing keys on `(x_id)`.
    """

    reduces_to_sql = False
    reversible = True

    def __init__(self, table: str) -> None:
        self.table = table

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return self.__class__.__qualname__, [self.table], {}

    def describe(self) -> str:
        return f"Key {self.table} by (merchant_id, id) on PostgreSQL"

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass  # the models do not change

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cur:
                self.rekey(cur, ["merchant_id", "id"])

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cur:
                self.rekey(cur, ["id"])

    def rekey(self, cur: Any, key: list[str]) -> None:
        """Key the table by `key` on PostgreSQL, turning the foreign keys that point at it."""
        table = self.table
        cur.execute(_INCOMING, [table])
        incoming = [(name, source, cols) for name, source, cols, target_cols in cur.fetchall()
                    if list(target_cols) != key]
        for _name, source, cols in incoming:
            cur.execute(_HAS_MERCHANT, [source])
            if len(key) == 2 and not cur.fetchone():
                raise ValueError(f"{source}.{cols[-1]} points at {table}: give {source} a filled "
                                 f"NOT NULL merchant_id before keying {table} by (merchant_id, id)")
        cur.execute(_PRIMARY, [table])
        (primary,) = cur.fetchone()
        for name, source, _cols in incoming:
            cur.execute(f'ALTER TABLE "{source}" DROP CONSTRAINT "{name}"')
        cur.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{primary}", '
                    f'ADD CONSTRAINT "{table}_pkey" PRIMARY KEY ({", ".join(key)})')
        for name, source, cols in incoming:
            column = cols[-1]  # (x_id) or (merchant_id, x_id): the pointing column is the last
            columns = ["merchant_id", column] if len(key) == 2 else [column]
            cur.execute(f'ALTER TABLE "{source}" ADD CONSTRAINT "{name}" FOREIGN KEY ({", ".join(columns)}) '
                        f'REFERENCES "{table}" ({", ".join(key)}) DEFERRABLE INITIALLY DEFERRED')
