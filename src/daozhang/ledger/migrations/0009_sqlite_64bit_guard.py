"""SQLite: a posting amount and an account balance are 64-bit integers, as on PostgreSQL.

PostgreSQL's `bigint` refuses a value outside 64 bits ("bigint out of range") and the
transaction rolls back. SQLite instead turns an integer sum that overflows into a REAL:
`balance = balance + amount` past 2^63 - 1 silently stored -1.8e19, after which the
balance read and `daozhang ledger check` failed. These triggers refuse any posting or
balance that is not an integer, so the statement fails and the service's transaction rolls
back on both databases alike (the API answers 400 `out_of_range`, nothing written).
"""

from django.db import migrations

GUARDS = [
    ("ledger_posting_amount_int", "INSERT", "ledger_posting", "amount"),
    ("ledger_account_balance_int_ins", "INSERT", "ledger_account", "balance"),
    ("ledger_account_balance_int_upd", "UPDATE OF balance", "ledger_account", "balance"),
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name, event, table, column in GUARDS:
        schema_editor.execute(
            f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {event} ON {table}"
            f" WHEN typeof(NEW.{column}) <> 'integer'"
            f" BEGIN SELECT RAISE(ABORT, 'ledger_out_of_range: {table}.{column} must be a 64-bit integer'); END")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name, *_ in GUARDS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0008_drop_entry_key_pattern_index")]
    operations = [migrations.RunPython(forward, backward)]
