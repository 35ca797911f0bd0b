"""The online sale's short write path: two round trips, one transaction, races answered.

`payments.services.sale` reads the replay check and the terminal in one query, then writes
the payment row and its ledger entry in one statement (`ledger.services.insert_with_entries`).
These tests pin what that must keep: the row and its entry commit together or not at all, a
concurrent request with the same Idempotency-Key gets the winner's result and books nothing,
and the path stays at two statements on PostgreSQL.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from daozhang.ledger.models import Entry, Posting
from daozhang.ledger.selectors import check_ledger, merchant_payable_balance
from daozhang.merchants.models import Merchant
from daozhang.payments import services
from daozhang.payments.models import Payment
from tests.conftest import DEBIT_CARD, MerchantKit
from tests.threads import at_once


def request(kit: MerchantKit, amount: int = 10000, stan: str = "300001") -> services.SaleRequest:
    return services.SaleRequest(terminal_id=kit.terminal.terminal_id, stan=stan, amount=amount, channel="card",
                                entry_mode="chip", card_number=DEBIT_CARD)


def merchant(kit: MerchantKit) -> Merchant:
    # As the API authenticates it: with its fee plan.
    return Merchant.objects.select_related("fee_plan").get(id=kit.merchant.id)


@pytest.mark.django_db(transaction=True)
def test_a_new_sale_is_two_statements_on_postgres(make_merchant):
    """No BEGIN, no COMMIT of ours: the write statement is a transaction of its own."""
    if connection.vendor != "postgresql":
        pytest.skip("round trips are a PostgreSQL matter; SQLite runs in-process")
    kit = make_merchant()
    m = merchant(kit)
    with CaptureQueriesContext(connection) as queries:
        p, replayed = services.sale(merchant=m, idempotency_key="two-trips", req=request(kit))
    assert (p.status, replayed) == ("approved", False)
    # The sandbox channel re-reads its fault switch at most once a second: not the sale's.
    sqls = [q["sql"] for q in queries.captured_queries if "sandboxfault" not in q["sql"]]
    assert len(sqls) == 2, sqls
    assert "INSERT INTO payments_payment" in sqls[1] and "INSERT INTO ledger_posting" in sqls[1]
    assert Entry.objects.filter(business_ref=f"payment:{p.id}").count() == 1
    assert p.terminal.terminal_id == kit.terminal.terminal_id
    assert check_ledger().ok


@pytest.mark.parametrize("status", ["approved", "declined"])
def test_the_returned_payment_is_the_stored_one(merchant_kit, status):
    amount = 10000 if status == "approved" else 10051
    p, _ = services.sale(merchant=merchant(merchant_kit), idempotency_key=f"stored-{status}",
                         req=request(merchant_kit, amount))
    stored = Payment.objects.get(id=p.id)
    fields = [f.attname for f in Payment._meta.concrete_fields]
    assert {f: getattr(p, f) for f in fields} == {f: getattr(stored, f) for f in fields}
    assert p.status == status
    # The instance is a saved row: saving it again updates, it does not insert a second one.
    p.response_message = "edited"
    p.save(update_fields=["response_message"])
    assert Payment.objects.get(id=p.id).response_message == "edited"


def test_a_lost_race_answers_with_the_winners_payment_and_books_nothing(merchant_kit, monkeypatch):
    """The replay check ran before the winner committed: the loser's insert is refused by the
    unique key, nothing of it is written, and it answers with the winner's payment. Inside a
    caller's transaction (this test's), the caller's work survives the refused insert."""
    m = merchant(merchant_kit)
    winner, _ = services.sale(merchant=m, idempotency_key="raced", req=request(merchant_kit))
    before = (Payment.objects.count(), Entry.objects.count(), Posting.objects.count(),
              merchant_payable_balance(m.id))
    real_lookup = services._lookup
    monkeypatch.setattr(services, "_lookup",
                        lambda mm, key, tid, claim: (None, real_lookup(mm, "not-yet-seen", tid, claim)[1]))
    loser, replayed = services.sale(merchant=m, idempotency_key="raced", req=request(merchant_kit))
    assert replayed and loser.id == winner.id
    assert (Payment.objects.count(), Entry.objects.count(), Posting.objects.count(),
            merchant_payable_balance(m.id)) == before
    assert check_ledger().ok


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sales_with_one_key_book_one_payment(make_merchant, monkeypatch):
    """Two connections both pass the replay check before either writes; both reach the
    database; one commits, the other gets the winner's result."""
    kit = make_merchant()
    m = merchant(kit)
    both_looked = threading.Barrier(2, timeout=20)
    real_lookup = services._lookup

    def lookup_then_wait(mm: Merchant, key: str, tid: str, claim: Any) -> Any:
        found = real_lookup(mm, key, tid, claim)
        both_looked.wait()
        return found

    monkeypatch.setattr(services, "_lookup", lookup_then_wait)
    results = at_once(lambda: services.sale(merchant=m, idempotency_key="same-key", req=request(kit)))
    assert sorted(replayed for _, replayed in results) == [False, True]
    assert len({p.id for p, _ in results}) == 1
    pid = results[0][0].id
    assert Payment.objects.count() == 1
    assert Entry.objects.filter(business_ref=f"payment:{pid}").count() == 1
    assert merchant_payable_balance(m.id) == 10000 - 50
    assert check_ledger().ok


@pytest.mark.django_db(transaction=True)
def test_outside_any_transaction_the_row_and_its_entry_commit_together(make_merchant, monkeypatch):
    """If the ledger part of the one statement fails, the payment row is not left behind."""
    kit = make_merchant()
    m = merchant(kit)
    from daozhang.ledger import services as ledger

    def broken_write(entries: Any, row: Any = None) -> None:
        with connection.cursor() as cur:
            if row is not None:  # PostgreSQL: the row's INSERT and a failing ledger part, one statement
                cur.execute(f"WITH r AS ({row[0]}) SELECT 1 / 0", row[1])
            else:  # SQLite: the row was inserted just before, in the same transaction
                cur.execute("SELECT * FROM no_such_table")

    monkeypatch.setattr(ledger, "_write", broken_write)
    with pytest.raises(Exception):  # noqa: B017 - the database error, whichever it is
        services.sale(merchant=m, idempotency_key="half", req=request(kit))
    assert not connection.in_atomic_block
    assert Payment.objects.count() == 0 and Entry.objects.count() == 0


def test_inside_a_callers_transaction_the_sale_joins_it(merchant_kit):
    m = merchant(merchant_kit)
    with transaction.atomic():
        p, _ = services.sale(merchant=m, idempotency_key="joined", req=request(merchant_kit))
        assert Payment.objects.filter(id=p.id).exists()
        transaction.set_rollback(True)
    assert not Payment.objects.filter(id=p.id).exists()
    assert not Entry.objects.filter(business_ref=f"payment:{p.id}").exists()


def test_every_payment_column_is_written_by_the_one_statement_insert():
    """The online insert names its columns by hand (for speed); a field added to Payment
    without adding it there would be silently left NULL. Only fields that are NULL on a new
    sale may be missing."""
    written = set(services._PAYMENT_COLUMNS)
    missing = {f.column for f in Payment._meta.concrete_fields if f.column not in written}
    assert missing == {"voided_at", "reversed_at", "undo_settlement_date"}
    assert all(Payment._meta.get_field(name).null for name in missing)
