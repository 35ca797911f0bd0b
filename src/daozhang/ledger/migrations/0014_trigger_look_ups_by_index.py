"""PostgreSQL: the ledger triggers' look-ups always go through their index.

Each look-up finds one row (a posting's entry, its account) or one entry's few postings,
by its key. A plan cached in a long-lived connection is kept until the table's statistics
change: made while the table was small, a sequential scan (or another index, ledger 0013)
would go on reading the whole table, or a merchant's whole history, for every posting as
the table grows. `enable_seqscan = off` for the two functions pins the index plan whatever
the statistics say (tests/ledger/test_ledger_rules.py checks the plans).
"""

from django.db import migrations

from daozhang.core.migration_ops import postgres_sql

FUNCTIONS = ("ledger_posting_needs_open_entry()", "ledger_entry_has_postings()")


class Migration(migrations.Migration):

    dependencies = [("ledger", "0013_posting_index_by_merchant_and_entry")]

    operations = [
        postgres_sql("\n".join(f"ALTER FUNCTION {f} SET enable_seqscan = off;" for f in FUNCTIONS),
                     "\n".join(f"ALTER FUNCTION {f} RESET enable_seqscan;" for f in FUNCTIONS)),
    ]
