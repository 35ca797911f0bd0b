"""Every merchant gets its own sub-accounts of the platform's side (decision 0015).

Until now the platform's accounts (channel receivables, fee income, payouts in transit,
the settlement bank, adjustments) were shared by every merchant, split into shards
(`platform:<purpose>[:<channel>]:<NN>`, no merchant). From now on each merchant has its
own (`merchant:<id>:platform:<purpose>[:<channel>]`), so an entry is written wholly on one
merchant's rows.

For a database that has entries on the shared accounts, this migration moves each
merchant's share of each shared account (the sum of its postings there) into the
merchant's sub-account of the same purpose: one balanced entry per merchant, kind
`ledger.platform_split`. Nothing is rewritten: the old postings stay where they are, and
the shared accounts end at zero, each merchant's postings on them summing to zero too.
Every total by purpose is unchanged. The shared accounts, and any entry or posting that had
no merchant, are then owned by the platform tenant (the nil uuid, `core.ids.
PLATFORM_ID`), so that `merchant_id` can be NOT NULL (0012).
"""

import uuid

from django.db import migrations
from django.utils import timezone

from daozhang.core.migration_ops import update_past_guard

NAMESPACE = uuid.UUID("6f1d5a3e-2b8c-4d0e-9a47-0c5e1d2f3a4b")  # core.ids.account_id_for's, documented
TENANT = uuid.UUID(int=0)
SHARES = (
    "SELECT p.merchant_id, a.id, a.code, a.purpose, a.type, a.currency, SUM(p.amount) FROM ledger_posting p"
    " JOIN ledger_account a ON a.id = p.account_id WHERE a.merchant_id IS NULL AND p.merchant_id <> %s"
    " GROUP BY p.merchant_id, a.id, a.code, a.purpose, a.type, a.currency HAVING SUM(p.amount) <> 0"
    " ORDER BY p.merchant_id, a.id"
)


def _sub_account_code(merchant_id, code, purpose):
    channel = code.split(":")[2] if purpose == "channel_receivable" else ""
    return f"merchant:{merchant_id}:platform:{purpose}" + (f":{channel}" if channel else "")


def forward(apps, schema_editor):
    conn = schema_editor.connection
    sqlite = conn.vendor == "sqlite"
    ops = conn.ops

    def db(value):
        return value.hex if sqlite else value

    def as_uuid(value):
        return value if isinstance(value, uuid.UUID) else uuid.UUID(value)

    now = timezone.now()
    created, today = ops.adapt_datetimefield_value(now), ops.adapt_datefield_value(timezone.localdate(now))
    with conn.cursor() as cur:
        # First, while no ledger row has pending trigger events in this transaction.
        _own_unowned_rows(schema_editor, cur, db(TENANT))
        cur.execute(SHARES, [db(TENANT)])
        shares = {}
        for merchant_id, account_id, code, purpose, type_, currency, total in cur.fetchall():
            shares.setdefault((as_uuid(merchant_id), currency), []).append(
                (as_uuid(account_id), code, purpose, type_, int(total)))
        for (merchant_id, currency), rows in shares.items():
            entry_id = uuid.uuid4()
            cur.execute(
                "INSERT INTO ledger_entry (id, kind, merchant_id, business_ref, idempotency_key, business_date,"
                " currency, memo, created_at) VALUES (%s, 'ledger.platform_split', %s, 'ledger:0011', %s, %s, %s,"
                " 'the shared platform accounts, split by merchant', %s)",
                [db(entry_id), db(merchant_id), f"ledger-0011:{merchant_id}:{currency}", today, currency, created])
            moved = {}
            for account_id, code, purpose, type_, total in rows:
                sub = _sub_account_code(merchant_id, code, purpose)
                moved.setdefault((sub, purpose, type_), 0)
                moved[(sub, purpose, type_)] += total
                cur.execute("INSERT INTO ledger_posting (id, entry_id, account_id, merchant_id, amount, currency)"
                            " VALUES (%s, %s, %s, %s, %s, %s)",
                            [db(uuid.uuid4()), db(entry_id), db(account_id), db(merchant_id), -total, currency])
                cur.execute("UPDATE ledger_account SET balance = balance - %s WHERE id = %s", [total, db(account_id)])
            for (sub, purpose, type_), total in moved.items():
                sub_id = uuid.uuid5(NAMESPACE, sub)
                cur.execute("SELECT 1 FROM ledger_account WHERE id = %s", [db(sub_id)])
                if cur.fetchone():
                    cur.execute("UPDATE ledger_account SET balance = balance + %s WHERE id = %s", [total, db(sub_id)])
                else:
                    cur.execute("INSERT INTO ledger_account (id, code, purpose, type, merchant_id, currency, shard,"
                                " balance, created_at) VALUES (%s, %s, %s, %s, %s, %s, 0, %s, %s)",
                                [db(sub_id), sub, purpose, type_, db(merchant_id), currency, total, created])
                cur.execute("INSERT INTO ledger_posting (id, entry_id, account_id, merchant_id, amount, currency)"
                            " VALUES (%s, %s, %s, %s, %s, %s)",
                            [db(uuid.uuid4()), db(entry_id), db(sub_id), db(merchant_id), total, currency])
        cur.execute("UPDATE ledger_account SET merchant_id = %s WHERE merchant_id IS NULL", [db(TENANT)])


def _own_unowned_rows(schema_editor, cur, tenant):
    """Entries and postings with no merchant (none is written by the product; a database
    edited by hand may have some) go to the platform tenant. They are immutable, so their
    guard is lifted for this one update, in this transaction."""
    for table in ("ledger_entry", "ledger_posting"):
        cur.execute(f"SELECT COUNT(*) FROM {table} WHERE merchant_id IS NULL")  # noqa: S608 - constant
        if cur.fetchone()[0]:
            update_past_guard(schema_editor, table, f"{table}_immutable",
                              f"UPDATE {table} SET merchant_id = %s WHERE merchant_id IS NULL", [tenant])  # noqa: S608


def backward(apps, schema_editor):
    """The split entries stay (the books are append-only); the shared accounts lose their owner again."""
    conn = schema_editor.connection
    tenant = TENANT.hex if conn.vendor == "sqlite" else TENANT
    with conn.cursor() as cur:
        cur.execute("UPDATE ledger_account SET merchant_id = NULL WHERE merchant_id = %s", [tenant])


class Migration(migrations.Migration):
    dependencies = [("ledger", "0010_refuse_delete_and_truncate")]
    operations = [migrations.RunPython(forward, backward)]

