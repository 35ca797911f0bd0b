"""The ledger's own rules: what `post_entries` refuses, replays, every account one
merchant's (the platform's side in per-merchant sub-accounts) and the database guards
(deferred balance trigger on PostgreSQL, immutable entries and postings).

Each test asserts something a user of the back office would notice: money that appears
or disappears, a balance that no longer matches its postings, a replay that books twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count, Sum

from daozhang.core import clock
from daozhang.ledger.accounts import AccountSpec, channel_receivable, fee_income, merchant_payable, settlement_bank
from daozhang.ledger.models import Account, AccountType, Entry, Posting
from daozhang.ledger.selectors import check_ledger, entry_postings, merchant_payable_balance, purpose_balance
from daozhang.ledger.services import Leg, NewEntry, UnbalancedEntry, ensure_accounts, post_entries, post_entry
from daozhang.payments import bulk, services
from daozhang.payments.models import Payment

# The ledger knows merchants by id only: the test accounts are one made-up merchant's.
M = uuid.UUID("0190c0de-0000-7000-8000-00000000000a")
OTHER = uuid.UUID("0190c0de-0000-7000-8000-00000000000b")
CASH = AccountSpec(code="test:cash", purpose="test_cash", type=AccountType.ASSET, merchant_id=M)
BANK = AccountSpec(code="test:bank", purpose="test_bank", type=AccountType.ASSET, merchant_id=M)
OWED = AccountSpec(code="test:owed", purpose="test_owed", type=AccountType.LIABILITY, merchant_id=M)
USD_CASH = AccountSpec(code="test:usd_cash", purpose="test_cash", type=AccountType.ASSET, merchant_id=M,
                       currency="USD")
OTHERS_CASH = AccountSpec(code="test:others_cash", purpose="test_cash", type=AccountType.ASSET, merchant_id=OTHER)
TEST_ACCOUNTS = (CASH, BANK, OWED, USD_CASH, OTHERS_CASH)
TODAY = dt.date(2025, 3, 14)


def entry(key: str, *legs: tuple[AccountSpec, object], currency: str = "CNY") -> NewEntry:
    return NewEntry(kind="test", idempotency_key=key, business_ref=f"test:{key}", business_date=TODAY,
                    legs=tuple(Leg(a, amt) for a, amt in legs), currency=currency,  # type: ignore[arg-type]
                    merchant_id=M)


def balances() -> dict[str, int]:
    return dict(Account.objects.values_list("code", "balance"))


def counts() -> tuple[int, int]:
    return Entry.objects.count(), Posting.objects.count()


def db_uuid(value: uuid.UUID) -> object:
    """A uuid as the backend stores it (char(32) hex on SQLite, native on PostgreSQL)."""
    return value.hex if connection.vendor == "sqlite" else value


def raw_entry(entry_id: uuid.UUID, key: str, postings: Iterable[tuple[AccountSpec, int]]) -> None:
    """Write an entry and its postings with plain SQL, bypassing `ledger.services`."""
    ops = connection.ops
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO ledger_entry (id, kind, merchant_id, business_ref, idempotency_key, business_date,"
            " currency, memo, created_at) VALUES (%s, %s, %s, %s, %s, %s, 'CNY', '', %s)",
            [db_uuid(entry_id), "test.raw", db_uuid(M), f"raw:{key}", key, ops.adapt_datefield_value(TODAY),
             ops.adapt_datetimefield_value(clock.now())],
        )
    raw_entry_postings(entry_id, postings)


def raw_entry_postings(entry_id: uuid.UUID, postings: Iterable[tuple[AccountSpec, int]]) -> None:
    with connection.cursor() as cur:
        for account, amount in postings:
            cur.execute(
                "INSERT INTO ledger_posting (id, entry_id, account_id, merchant_id, amount, currency)"
                " VALUES (%s, %s, %s, %s, %s, 'CNY')",
                [db_uuid(uuid.uuid4()), db_uuid(entry_id), db_uuid(account.id), db_uuid(M), amount],
            )


# The application's role is refused by PostgreSQL's rights before any trigger runs (it may
# only add and read entries and postings); the owner, and SQLite, by the triggers.
REFUSED = "immutable|permission denied"


def skip_unless_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL-only database guard")


@pytest.fixture
def accounts(db: None) -> None:
    ensure_accounts(TEST_ACCOUNTS)


# --- what post_entry refuses -------------------------------------------------------------


@pytest.mark.parametrize(
    ("legs", "currency", "why"),
    [
        ([(CASH, 10000), (OWED, -9999)], "CNY", "sum to 1"),
        ([(CASH, 10000)], "CNY", "fewer than two"),
        ([(CASH, 10000), (OWED, -10000), (BANK, 0)], "CNY", "amount 0"),
        ([(CASH, 100.0), (OWED, -100.0)], "CNY", "amount 100.0"),  # balanced, but a float
        ([(CASH, 1), (OWED, -1.0)], "CNY", "amount -1.0"),
        ([(CASH, True), (OWED, -1)], "CNY", "amount True"),  # bool is an int subclass, still refused
        ([(USD_CASH, 100), (OWED, -100)], "CNY", "currency mismatch"),
        ([(OTHERS_CASH, 100), (OWED, -100)], "CNY", "is not the entry's merchant's"),
    ],
    ids=["unbalanced", "single-leg", "zero-leg", "float", "float-one-leg", "bool", "currency", "other-merchant"],
)
def test_post_entry_refuses_invalid_entries_and_writes_nothing(accounts, legs, currency, why):
    before_counts, before_balances = counts(), balances()
    with pytest.raises(UnbalancedEntry) as exc, transaction.atomic():
        post_entry(entry("bad-1", *legs, currency=currency))
    assert exc.value.code == "ledger_unbalanced"
    assert why in exc.value.params["detail"]
    assert counts() == before_counts
    assert balances() == before_balances
    assert not Entry.objects.filter(idempotency_key="bad-1").exists()
    assert check_ledger().ok


def test_one_bad_entry_in_a_batch_writes_none_of_the_batch(accounts):
    before_counts, before_balances = counts(), balances()
    good = entry("batch-good", (CASH, 500), (OWED, -500))
    bad = entry("batch-bad", (CASH, 500), (OWED, -499))
    with pytest.raises(UnbalancedEntry), transaction.atomic():
        post_entries([good, bad])
    assert counts() == before_counts
    assert balances() == before_balances


@pytest.mark.django_db(transaction=True)
def test_post_entries_outside_a_transaction_is_refused():
    ensure_accounts(TEST_ACCOUNTS)
    assert not connection.in_atomic_block
    with pytest.raises(RuntimeError, match="inside the business transaction"):
        post_entry(entry("no-atomic", (CASH, 100), (OWED, -100)))
    assert counts() == (0, 0)
    assert set(balances().values()) == {0}


# --- replays -----------------------------------------------------------------------------


def test_a_replay_returns_the_first_entry_and_moves_no_money(accounts):
    with transaction.atomic():
        first = post_entry(entry("pay-1", (CASH, 12345), (OWED, -12345)))
    before_counts, before_balances = counts(), balances()
    assert before_balances["test:cash"] == 12345 and before_balances["test:owed"] == -12345

    # The same key again, even with different legs and a new entry id: the first result.
    replay = entry("pay-1", (CASH, 99999), (BANK, -99999))
    with transaction.atomic():
        again = post_entry(replay)
    assert again == first != replay.id
    assert counts() == before_counts
    assert balances() == before_balances
    assert not Entry.objects.filter(id=replay.id).exists()
    assert sorted(entry_postings(first)) == [("test:cash", 12345), ("test:owed", -12345)]

    # A batch mixing a replay and a new entry writes only the new one.
    new = entry("pay-2", (BANK, 700), (OWED, -700))
    with transaction.atomic():
        ids = post_entries([entry("pay-1", (CASH, 1), (OWED, -1)), new])
    assert ids == [first, new.id]
    assert counts() == (before_counts[0] + 1, before_counts[1] + 2)
    assert balances()["test:cash"] == 12345 and balances()["test:owed"] == -12345 - 700
    assert check_ledger().ok


def test_the_same_key_twice_in_one_batch_is_written_once(accounts):
    a = entry("dup", (CASH, 300), (OWED, -300))
    b = entry("dup", (CASH, 300), (OWED, -300))
    with transaction.atomic():
        ids = post_entries([a, b])
    assert ids == [a.id, a.id]
    assert counts() == (1, 2)
    assert balances()["test:cash"] == 300


def test_keys_are_new_still_cannot_book_a_key_twice(accounts):
    with transaction.atomic():
        post_entry(entry("k-new", (CASH, 100), (OWED, -100)), keys_are_new=True)
    before_counts, before_balances = counts(), balances()
    with pytest.raises(IntegrityError), transaction.atomic():
        post_entry(entry("k-new", (CASH, 100), (OWED, -100)), keys_are_new=True)
    assert counts() == before_counts
    assert balances() == before_balances


def test_an_api_sale_replayed_with_the_same_key_is_booked_once(merchant_kit):
    first = merchant_kit.sale(10000, key="till-42", stan="000042")
    again = merchant_kit.sale(10000, key="till-42", stan="000042")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    pid = first.json()["id"]
    assert Payment.objects.count() == 1
    assert Entry.objects.filter(business_ref=f"payment:{pid}").count() == 1
    assert merchant_payable_balance(merchant_kit.merchant.id) == first.json()["net"] == 10000 - 50
    assert purpose_balance("channel_receivable") == 10000


# --- the platform's side, per merchant ------------------------------------------------------


def purpose_accounts(purpose: str) -> dict[str, tuple[uuid.UUID, int]]:
    return {code: (mid, bal) for code, mid, bal in
            Account.objects.filter(purpose=purpose).values_list("code", "merchant_id", "balance")}


def test_every_leg_of_a_sale_is_on_the_merchants_own_rows_and_platform_totals_sum_them(make_merchant):
    """Decision 0015: no account is shared by two merchants, so no sale waits for another's
    lock, and on a database distributed by merchant a sale is one shard's commit."""
    a, b = make_merchant(), make_merchant()
    amounts = [10000 + 100 * i for i in range(6)]  # all approved, 0.5% debit fee
    for i, amount in enumerate(amounts):
        assert (a if i % 2 else b).sale(amount).json()["status"] == "approved"
    fees = sum(Payment.objects.values_list("fee", flat=True))
    assert fees == sum((x * 5000 + 500_000) // 1_000_000 for x in amounts)

    receivable, income = purpose_accounts("channel_receivable"), purpose_accounts("fee_income")
    assert set(receivable) == {f"merchant:{k.merchant.id}:platform:channel_receivable:card" for k in (a, b)}
    assert set(income) == {f"merchant:{k.merchant.id}:platform:fee_income" for k in (a, b)}
    assert all(code.startswith(f"merchant:{mid}:") for code, (mid, _) in {**receivable, **income}.items())
    assert purpose_balance("channel_receivable") == sum(bal for _, bal in receivable.values()) == sum(amounts)
    assert purpose_balance("fee_income") == sum(bal for _, bal in income.values()) == -fees
    for e in Entry.objects.filter(kind="payment.sale"):
        rows = Posting.objects.filter(entry_id=e.id).values_list("merchant_id", "account__merchant_id")
        assert {m for pair in rows for m in pair} == {e.merchant_id}
    assert check_ledger().ok


def test_bulk_import_creates_each_merchants_sub_accounts_on_first_use_and_balances(make_merchant):
    kit = make_merchant()
    now = clock.now()
    channels = [("card", "chip", "debit"), ("card", "swipe", "credit"), ("wechat", "qr", ""), ("alipay", "qr", "")]
    rows = [
        bulk.ImportedSale(merchant_id=kit.merchant.id, terminal_pk=kit.terminal.id, idempotency_key=f"imp-{i}",
                          channel=channels[i % 4][0], entry_mode=channels[i % 4][1], card_type=channels[i % 4][2],
                          amount=5000 + 37 * i, stan=f"{i:06d}", created_at=now)
        for i in range(120)
    ]
    assert Account.objects.filter(purpose__in=["channel_receivable", "fee_income"]).count() == 0
    assert bulk.import_sales(rows, batch_size=50) == 120
    total = sum(r.amount for r in rows)
    fees = sum(Payment.objects.values_list("fee", flat=True))
    assert fees > 0

    receivable = purpose_accounts("channel_receivable")
    assert {code.rsplit(":", 1)[1] for code in receivable} == {"card", "wechat", "alipay"}
    assert {mid for mid, _ in receivable.values()} == {kit.merchant.id}
    assert purpose_balance("channel_receivable") == total
    assert purpose_balance("fee_income") == -fees
    assert merchant_payable_balance(kit.merchant.id) == total - fees
    # Each account's stored balance equals the sum of its postings.
    sums = dict(Posting.objects.values("account__code").annotate(s=Sum("amount")).values_list("account__code", "s"))
    assert sums == {code: bal for code, bal in balances().items() if bal}
    assert check_ledger().ok

    # Importing the same rows again books nothing twice.
    assert bulk.import_sales(rows, batch_size=50) == 0
    assert purpose_balance("channel_receivable") == total
    assert merchant_payable_balance(kit.merchant.id) == total - fees


def test_named_accounts_have_stable_ids_and_codes():
    m = uuid.UUID("0190c0de-0000-7000-8000-0000000000aa")
    assert channel_receivable(m, "card").code == f"merchant:{m}:platform:channel_receivable:card"
    assert fee_income(m).code == f"merchant:{m}:platform:fee_income"
    assert (settlement_bank(m).purpose, settlement_bank(m).type) == ("settlement_bank", "asset")
    assert channel_receivable(m, "card").id == channel_receivable(m, "card").id != channel_receivable(m, "wechat").id
    assert merchant_payable(m).id == merchant_payable(m).id != merchant_payable(M).id
    # The id is uuid5 of the code in the documented namespace (docs/ledger.md), whoever computes it.
    namespace = uuid.UUID("6f1d5a3e-2b8c-4d0e-9a47-0c5e1d2f3a4b")
    for spec in (merchant_payable(m), fee_income(m), channel_receivable(m, "card")):
        assert spec.id == uuid.uuid5(namespace, spec.code)
        assert spec.id.version == 5 and str(spec.id) == str(uuid.uuid5(namespace, spec.code))


@pytest.mark.django_db(transaction=True)  # foreign keys are checked at COMMIT
def test_a_new_account_used_in_and_out_within_one_batch_is_created():
    ensure_accounts([CASH, BANK])
    clearing = AccountSpec(code="test:clearing", purpose="test_clearing", type=AccountType.ASSET, merchant_id=M)
    with transaction.atomic():
        post_entries([entry("in", (CASH, -100), (clearing, 100)), entry("out", (clearing, -100), (BANK, 100))])
    assert counts() == (2, 4)
    assert balances() == {"test:cash": -100, "test:bank": 100, "test:clearing": 0}
    assert check_ledger().ok


# --- database guards ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_postgres_refuses_to_commit_an_unbalanced_entry_written_with_raw_sql():
    skip_unless_postgres()
    ensure_accounts(TEST_ACCOUNTS)
    bad = uuid.uuid4()
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        raw_entry(bad, "raw-bad", [(CASH, 10000), (OWED, -9999)])
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        raw_entry(uuid.uuid4(), "raw-single", [(CASH, 10000)])
    assert counts() == (0, 0)

    # The trigger checks the sum at COMMIT, not per row: a balanced entry written
    # posting by posting commits.
    good = uuid.uuid4()
    with transaction.atomic():
        raw_entry(good, "raw-good", [(CASH, 10000), (OWED, -4000), (BANK, -6000)])
    assert counts() == (1, 3)

    # Adding a posting to an entry committed before is refused at once, even a pair that
    # keeps the sum at zero: an entry's postings are final once its transaction commits.
    add = ("INSERT INTO ledger_posting (id, entry_id, account_id, merchant_id, amount, currency)"
           " VALUES (%s, %s, %s, %s, %s, 'CNY')")
    with pytest.raises(IntegrityError, match="earlier transaction"), transaction.atomic(), \
            connection.cursor() as cur:
        cur.execute(add, [uuid.uuid4(), good, CASH.id, M, 1])
    with pytest.raises(IntegrityError, match="earlier transaction"), transaction.atomic(), \
            connection.cursor() as cur:
        cur.executemany(add, [(uuid.uuid4(), good, CASH.id, M, 1), (uuid.uuid4(), good, OWED.id, M, -1)])
    assert counts() == (1, 3)


@pytest.mark.django_db(transaction=True)
def test_a_posting_needs_an_existing_entry_and_account_on_every_database():
    """PostgreSQL checks both per posting, within the posting's merchant (a row trigger,
    ledger 0012); SQLite keeps its deferred foreign keys. Either way nothing dangling is
    committed."""
    ensure_accounts(TEST_ACCOUNTS)
    nowhere = AccountSpec(code="test:nowhere", purpose="test_nowhere", type=AccountType.ASSET, merchant_id=M)
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_entry_postings(uuid.uuid4(), [(CASH, 100), (OWED, -100)])  # no such entry
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_entry(uuid.uuid4(), "raw-nowhere", [(CASH, 100), (nowhere, -100)])  # no such account
    if connection.vendor == "postgresql":  # an account that exists, but another merchant's
        with pytest.raises(IntegrityError, match="does not exist for merchant"), transaction.atomic():
            raw_entry(uuid.uuid4(), "raw-others", [(CASH, 100), (OTHERS_CASH, -100)])
    assert counts() == (0, 0)
    assert check_ledger().ok


def test_postgres_refuses_to_delete_an_account_that_has_postings(db):
    skip_unless_postgres()
    _posted_entry()
    with pytest.raises(DatabaseError, match="has postings"), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM ledger_account WHERE code = %s", [CASH.code])
    assert Account.objects.filter(code=CASH.code).exists()
    Account.objects.filter(code=BANK.code).delete()  # never used: an operator may remove it
    assert not Account.objects.filter(code=BANK.code).exists()


@pytest.mark.django_db(transaction=True)
def test_postgres_checks_an_entry_once_at_commit_whatever_the_savepoints():
    """One deferred check per entry: postings written in a savepoint of the entry's own
    transaction count; an unbalanced entry still fails at commit, after a savepoint too."""
    skip_unless_postgres()
    ensure_accounts(TEST_ACCOUNTS)
    eid = uuid.uuid4()
    with transaction.atomic():
        raw_entry(eid, "split", [(CASH, 700)])
        with transaction.atomic():  # a savepoint
            raw_entry_postings(eid, [(OWED, -300), (BANK, -400)])
    assert counts() == (1, 3)
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        bad = uuid.uuid4()
        raw_entry(bad, "split-bad", [(CASH, 700)])
        with transaction.atomic():
            raw_entry_postings(bad, [(OWED, -300)])
    assert counts() == (1, 3)
    # The checks are gone from postings: one per entry is what is left.
    with connection.cursor() as cur:
        cur.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = 'ledger_posting'::regclass"
                    " AND tgdeferrable")
        assert cur.fetchall() == []


@pytest.mark.django_db(transaction=True)
def test_postgres_refuses_to_commit_an_entry_without_postings():
    """An empty entry would sit on its idempotency key: the real entry's replay would then
    return it and book nothing (regression: the posting trigger alone never saw it)."""
    skip_unless_postgres()
    ensure_accounts(TEST_ACCOUNTS)
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        raw_entry(uuid.uuid4(), "payment:x:sale", [])
    assert counts() == (0, 0)
    with transaction.atomic():
        eid = post_entry(entry("payment:x:sale", (CASH, 100), (OWED, -100)))
    assert sorted(entry_postings(eid)) == [("test:cash", 100), ("test:owed", -100)]


def _posted_entry() -> uuid.UUID:
    ensure_accounts(TEST_ACCOUNTS)
    with transaction.atomic():
        return post_entry(entry("immutable", (CASH, 2500), (OWED, -2500)))


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_posting SET amount = amount + 1 WHERE entry_id = %s",
        "UPDATE ledger_posting SET account_id = account_id WHERE entry_id = %s",
        "UPDATE ledger_entry SET memo = 'edited' WHERE id = %s",
        "UPDATE ledger_entry SET idempotency_key = 'stolen' WHERE id = %s",
    ],
)
def test_entries_and_postings_refuse_update_on_every_database(db, sql):
    eid = _posted_entry()
    before = sorted(entry_postings(eid))
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, [db_uuid(eid)])
    assert sorted(entry_postings(eid)) == before
    e = Entry.objects.get(id=eid)
    assert (e.memo, e.idempotency_key) == ("", "immutable")
    assert check_ledger().ok


@pytest.mark.parametrize(
    "sql",
    ["DELETE FROM ledger_posting WHERE entry_id = %s", "DELETE FROM ledger_entry WHERE id = %s"],
)
def test_entries_and_postings_refuse_delete_on_every_database(db, sql):
    """Issue 11 item 6: on SQLite deleting a posting used to be accepted."""
    eid = _posted_entry()
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, [db_uuid(eid)])
    assert Entry.objects.filter(id=eid).exists()
    assert Posting.objects.filter(entry_id=eid).aggregate(n=Count("id"), s=Sum("amount")) == {"n": 2, "s": 0}
    assert check_ledger().ok


def test_the_orm_cannot_edit_a_posting_either(db):
    eid = _posted_entry()
    posting = Posting.objects.filter(entry_id=eid).first()
    assert posting is not None
    posting.amount += 100
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        posting.save()
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        Entry.objects.filter(id=eid).update(memo="quietly changed")
    assert Posting.objects.filter(entry_id=eid).aggregate(s=Sum("amount"))["s"] == 0


def test_account_balances_stay_writable_so_corrections_can_be_audited(accounts):
    # Accounts are not immutable (their balance is a cache of the postings);
    # `ledger check` is what catches a wrong one.
    with connection.cursor() as cur:
        cur.execute("UPDATE ledger_account SET balance = balance + 1 WHERE id = %s", [db_uuid(CASH.id)])
    result = check_ledger()
    assert not result.ok
    assert result.wrong_balances == [("test:cash", 1, 0)]


# --- the worker settling an unknown sale ---------------------------------------------------


def test_resolving_yesterdays_unknown_sale_does_not_reverse_todays_sale_with_the_same_stan(merchant_kit, monkeypatch):
    """Regression: the worker used to reverse by terminal + STAN and so undid the newest
    sale with that STAN (today's approved one) instead of the unknown payment it was given."""
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() - dt.timedelta(days=1))
    lost = merchant_kit.sale(10098, stan="000123").json()  # yesterday: timed out, card maybe debited
    monkeypatch.setattr(clock, "now", real_now)
    # Today the terminal's trace counter has started again and reached 000123 once more.
    kept = merchant_kit.sale(20000, stan="000123").json()
    assert (lost["status"], kept["status"]) == ("unknown", "approved")
    owed = merchant_payable_balance(merchant_kit.merchant.id)
    assert owed == kept["net"]

    services.resolve_unknown(uuid.UUID(lost["id"]))

    statuses = dict(Payment.objects.values_list("id", "status"))
    assert statuses[uuid.UUID(kept["id"])] == "approved"  # the customer took the goods: still owed
    assert statuses[uuid.UUID(lost["id"])] == "reversed"
    assert merchant_payable_balance(merchant_kit.merchant.id) == owed


@pytest.mark.parametrize("count", [1, 8, 9], ids=["one-entry", "largest-small-call", "smallest-batch"])
def test_both_postgres_forms_of_the_writer_store_exactly_what_was_posted(accounts, count):
    """A call of up to 8 entries travels as JSON, a larger one as binary arrays: the rows
    must come back the same either way, text with quotes, backslashes and CJK included."""
    when = dt.date(2026, 2, 17)
    entries = [
        NewEntry(kind="test.forms", idempotency_key=f"forms-{count}-{i}", business_ref=f'ref "{i}" \\ 春节',
                 business_date=when, memo="备注 'quoted' \\n {json: [1]}", merchant_id=M,
                 legs=(Leg(CASH, 1000 + i), Leg(OWED, -(1000 + i))))
        for i in range(count)
    ]
    with transaction.atomic():
        ids = post_entries(entries)
    for e, eid in zip(entries, ids, strict=True):
        stored = Entry.objects.get(id=eid)
        assert (stored.kind, stored.idempotency_key, stored.business_ref, stored.memo, stored.business_date,
                stored.merchant_id, stored.currency) == (e.kind, e.idempotency_key, e.business_ref, e.memo, when,
                                                         e.merchant_id, "CNY")
        assert sorted(entry_postings(eid)) == sorted([("test:cash", e.legs[0].amount), ("test:owed", e.legs[1].amount)])
    assert check_ledger().ok


def test_postgres_trigger_look_ups_use_the_right_index_even_on_an_empty_table(db):
    """The posting trigger finds its entry by (merchant_id, id), the balance check an
    entry's postings by (merchant_id, entry_id). A generic plan made while the tables were
    nearly empty once took another index leading with merchant_id and filtered on id,
    reading every entry of the merchant per posting: a bulk import fell from 11,300 to
    1,500 a second, slower each round (ledger 0013). Only the right index may serve them."""
    skip_unless_postgres()
    with connection.cursor() as cur:
        # As the trigger functions run (ledger 0014), with a generic plan as a long-lived
        # connection caches it.
        cur.execute("SELECT proconfig FROM pg_proc WHERE proname IN"
                    " ('ledger_posting_needs_open_entry', 'ledger_entry_has_postings')")
        assert [row[0] for row in cur.fetchall()] == [["enable_seqscan=off"]] * 2
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        for name, sql, index in (
                ("entry_of_posting", "SELECT created_xact FROM ledger_entry WHERE merchant_id = $1 AND id = $2",
                 "ledger_entry_pkey"),
                ("postings_of_entry", "SELECT SUM(amount) FROM ledger_posting WHERE merchant_id = $1 AND entry_id = $2",
                 "ledger_posting_merchant_entry"),
                ("account_of_posting", "SELECT 1 FROM ledger_account WHERE merchant_id = $1 AND id = $2",
                 "ledger_account_pkey")):
            cur.execute(f"PREPARE {name} (uuid, uuid) AS {sql}")
            cur.execute(f"EXPLAIN EXECUTE {name} (%s, %s)", [M, uuid.uuid4()])
            plan = "\n".join(row[0] for row in cur.fetchall())
            assert index in plan and "Filter" not in plan, plan
            cur.execute(f"DEALLOCATE {name}")
