"""Ledger 0011/0012 on a database written with the old chart: shared platform accounts.

Before decision 0015 the platform's side of every sale was on shared accounts (shards,
no merchant). The migration moves each merchant's share of them into the merchant's own
sub-accounts, by entries, rewriting nothing; every platform total is unchanged, the books
still check, and undoing an old sale lands on the merchant's sub-accounts.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from daozhang.core.dbroles import as_owner
from daozhang.core.ids import PLATFORM_ID
from daozhang.ledger.accounts import channel_receivable, fee_income, merchant_payable
from daozhang.ledger.models import Account, Entry, Posting
from daozhang.ledger.selectors import check_ledger, purpose_balance
from daozhang.ledger.services import NewEntry, post_entry, reversal_legs

A = uuid.UUID("0190c0de-0000-7000-8000-0000000000a1")
B = uuid.UUID("0190c0de-0000-7000-8000-0000000000b2")
NAMESPACE = uuid.UUID("6f1d5a3e-2b8c-4d0e-9a47-0c5e1d2f3a4b")
OLD = ("ledger", "0010_refuse_delete_and_truncate")


def _db(value: uuid.UUID) -> object:
    return value.hex if connection.vendor == "sqlite" else value


def _old_sale(cur, merchant: uuid.UUID, n: int, amount: int, fee: int, shard: int) -> uuid.UUID:
    """A sale as the old writer booked it: receivable and fee on shared shards (a kind of
    its own: there is no payment row for the payments checks to find)."""
    ops = connection.ops
    entry = uuid.uuid4()
    cur.execute("INSERT INTO ledger_entry (id, kind, merchant_id, business_ref, idempotency_key, business_date,"
                " currency, memo, created_at) VALUES (%s, 'test.old_sale', %s, %s, %s, %s, 'CNY', '', %s)",
                [_db(entry), _db(merchant), f"old:{n}", f"old:{n}:sale",
                 ops.adapt_datefield_value(dt.date(2026, 9, 1)),
                 ops.adapt_datetimefield_value(dt.datetime(2026, 9, 1, 10, tzinfo=dt.UTC))])
    legs = [(f"platform:channel_receivable:card:{shard:02d}", "channel_receivable", "asset", None, amount),
            (f"merchant:{merchant}:payable", "merchant_payable", "liability", merchant, fee - amount),
            (f"platform:fee_income:{shard:02d}", "fee_income", "income", None, -fee)]
    for code, purpose, type_, owner, value in legs:
        account = uuid.uuid5(NAMESPACE, code)
        cur.execute("SELECT 1 FROM ledger_account WHERE id = %s", [_db(account)])
        if cur.fetchone():
            cur.execute("UPDATE ledger_account SET balance = balance + %s WHERE id = %s", [value, _db(account)])
        else:
            cur.execute("INSERT INTO ledger_account (id, code, purpose, type, merchant_id, currency, shard, balance,"
                        " created_at) VALUES (%s, %s, %s, %s, %s, 'CNY', %s, %s, %s)",
                        [_db(account), code, purpose, type_, _db(owner) if owner else None, shard, value,
                         ops.adapt_datetimefield_value(dt.datetime(2026, 9, 1, tzinfo=dt.UTC))])
        cur.execute("INSERT INTO ledger_posting (id, entry_id, account_id, merchant_id, amount, currency)"
                    " VALUES (%s, %s, %s, %s, %s, 'CNY')", [_db(uuid.uuid4()), _db(entry), _db(account),
                                                           _db(merchant), value])
    return entry


@pytest.mark.django_db(transaction=True)
def test_the_shared_platform_accounts_are_split_by_merchant_and_nothing_else_changes():
    with as_owner(connection):
        executor = MigrationExecutor(connection)
        executor.migrate([OLD])
        with transaction.atomic(), connection.cursor() as cur:
            # Two merchants' sales meet on shard 3; A has one on shard 7 as well.
            a_sale = _old_sale(cur, A, 1, 10_000, 50, 3)
            _old_sale(cur, B, 2, 20_000, 100, 3)
            _old_sale(cur, A, 3, 5_000, 25, 7)
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    # Every platform total is what it was; the shared accounts hold nothing now and belong
    # to the platform tenant; each merchant's share is in its own sub-accounts.
    assert purpose_balance("channel_receivable") == 35_000
    assert purpose_balance("fee_income") == -175
    shared = Account.objects.filter(code__startswith="platform:")
    assert shared.count() == 4 and {a.balance for a in shared} == {0}
    assert {a.merchant_id for a in shared} == {PLATFORM_ID}
    assert Account.objects.get(id=channel_receivable(A, "card").id).balance == 15_000
    assert Account.objects.get(id=channel_receivable(B, "card").id).balance == 20_000
    assert Account.objects.get(id=fee_income(A).id).balance == -75
    assert Account.objects.get(id=fee_income(B).id).balance == -100
    # One split entry per merchant, each balanced and the merchant's alone; nothing rewritten.
    splits = Entry.objects.filter(kind="ledger.platform_split")
    assert sorted(e.merchant_id for e in splits) == sorted([A, B])
    assert Posting.objects.filter(entry__kind="test.old_sale").count() == 9
    result = check_ledger()
    assert result.ok, (result.unbalanced_entries, result.wrong_balances, result.findings)

    # An old sale undone now: its platform legs land on A's sub-accounts, which then hold
    # only A's other sale; the shared accounts are not touched.
    legs = reversal_legs(A, a_sale)
    assert {leg.account.code for leg in legs} == {channel_receivable(A, "card").code, fee_income(A).code,
                                                  merchant_payable(A).code}
    with transaction.atomic():
        post_entry(NewEntry(kind="test.old_void", idempotency_key="old:1:void", business_ref="old:1",
                            business_date=dt.date(2026, 9, 2), legs=legs, merchant_id=A))
    assert Account.objects.get(id=channel_receivable(A, "card").id).balance == 5_000
    assert Account.objects.get(id=fee_income(A).id).balance == -25
    assert {a.balance for a in Account.objects.filter(code__startswith="platform:")} == {0}
    assert check_ledger().ok
