"""Issue 9 regressions beside the concurrency test (tests/api/test_api_race.py):

- a terminal re-bound to another merchant does not hand that merchant the old merchant's
  payments (reversal or void by terminal + STAN, lookup, trace);
- one sale through the API is ONE database commit: the claim of the Idempotency-Key, the
  payment with its ledger entry and the stored answer commit together (today it is two:
  the payment, then the idempotency record).
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.backends.signals import connection_created

from daozhang.ledger.models import Account, Entry, Posting
from daozhang.ledger.selectors import check_ledger
from daozhang.payments.models import Payment, Reversal
from daozhang.terminals import services as terminals
from tests.api.test_api_race import Call, send
from tests.conftest import DEBIT_CARD, MerchantKit

REVERSAL = "/api/v1/payments/reversal"


def ledger_state() -> tuple[int, int, dict[str, int]]:
    return (Entry.objects.count(), Posting.objects.count(),
            {str(i): b for i, b in Account.objects.values_list("id", "balance")})


def assert_refused_or_blind(resp: Any, *secrets: str) -> None:
    """A 4xx in the error shape, or an answer that shows none of `secrets`."""
    text = resp.content.decode()
    if resp.status_code >= 400:
        assert resp.status_code < 500, text
        assert set(resp.json()["error"]) >= {"code", "field", "message"}, text
    for s in secrets:
        assert s not in text, f"the answer shows {s!r}: {text[:400]}"


# -------------------------------------------------------------------- (a) re-bound terminal


def test_a_rebound_terminal_gives_the_new_merchant_none_of_the_old_merchants_payments(
        make_merchant: Callable[..., MerchantKit]) -> None:
    a, b = make_merchant(), make_merchant()
    sale = a.sale(10000).json()
    assert sale["status"] == "approved", sale
    t = a.terminal
    # The device goes back to stock and out again, to merchant B (terminals.services).
    terminals.set_terminal_status(terminal_id=t.id, status="in_stock", actor="test", reason="returned")
    terminals.bind_terminal(terminal_id=t.id, merchant_id=b.merchant.id, install_address="B 店", actor="test")
    terminals.set_terminal_status(terminal_id=t.id, status="active", actor="test")
    before = ledger_state()
    tid, stan = t.terminal_id, sale["stan"]
    a_secrets = (sale["id"], sale["rrn"])

    # Void of A's payment by id with the (now B's) terminal.
    assert_refused_or_blind(b.post(f"/api/v1/payments/{sale['id']}/void", {"terminal_id": tid}), *a_secrets)
    assert b.post(f"/api/v1/payments/{sale['id']}/void", {"terminal_id": tid}).status_code == 404
    # Reads by terminal + STAN.
    r = b.get("/api/v1/payments/lookup", terminal_id=tid, stan=stan)
    assert_refused_or_blind(r, *a_secrets)
    assert r.status_code == 404 or r.json() == [], r.content
    r = b.get("/api/v1/trace/lookup", terminal_id=tid, stan=stan)
    assert_refused_or_blind(r, *a_secrets)
    assert r.status_code == 404, r.content

    # Reversal by terminal + STAN, with and without the amount: never A's sale.
    for body in ({"terminal_id": tid, "original_stan": stan}, {"terminal_id": tid, "original_stan": stan,
                                                               "amount": 10000}):
        r = b.post(REVERSAL, body)
        assert_refused_or_blind(r, *a_secrets)
        if r.status_code == 200:
            assert r.json()["outcome"] != "reversed" and r.json()["payment_id"] is None, r.json()
    p = Payment.objects.get(id=sale["id"])
    assert p.status == "approved" and p.voided_at is None
    assert not Reversal.objects.filter(payment_id=p.id).exists()
    assert ledger_state() == before
    assert check_ledger().ok
    # A still sees its own sale.
    assert [x["id"] for x in a.get("/api/v1/payments/lookup", terminal_id=tid, stan=stan).json()] == [sale["id"]]


# ----------------------------------------------------------------- (b) one sale, one commit


class SqliteCommits:
    """Counts the commits that wrote something on SQLite connections opened while attached
    by another thread than the test's (the live server's): each COMMIT after a write in
    BEGIN … COMMIT, and each write outside one (autocommitted)."""

    WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")

    def __init__(self) -> None:
        self.commits = 0
        self.log: list[str] = []
        self._lock = threading.Lock()

    def attach(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        if connection.vendor != "sqlite" or threading.current_thread() is threading.main_thread():
            return
        state = {"in_tx": False, "wrote": False}

        def trace(sql: str) -> None:
            s = sql.lstrip().upper()
            if not s or s.startswith("--"):  # statements run by triggers are reported as comments
                return
            word = s.split(None, 1)[0]
            write = word in self.WRITES or (word == "WITH" and re.search(r"\b(INSERT|UPDATE|DELETE)\b", s))
            with self._lock:
                if word == "BEGIN":
                    state.update(in_tx=True, wrote=False)
                elif word in ("COMMIT", "END"):
                    if state["wrote"]:
                        self.commits += 1
                        self.log.append("COMMIT")
                    state.update(in_tx=False, wrote=False)
                elif word == "ROLLBACK" and not s.startswith("ROLLBACK TO"):
                    state.update(in_tx=False, wrote=False)
                elif write:
                    self.log.append(s[:80])
                    if state["in_tx"]:
                        state["wrote"] = True
                    else:
                        self.commits += 1
                        self.log.append("(autocommit)")

        connection.connection.set_trace_callback(trace)


@pytest.fixture
def commits_counted() -> Iterator[Callable[[Callable[[], Any]], tuple[int, list[str]]]]:
    """count(fn): run fn; return how many write transactions committed meanwhile (other
    connections than the test's), and what was seen."""
    if connection.vendor == "sqlite":
        def count_sqlite(fn: Callable[[], Any]) -> tuple[int, list[str]]:
            counter = SqliteCommits()
            connection_created.connect(counter.attach, weak=False)
            try:
                fn()
            finally:
                connection_created.disconnect(counter.attach)
            return counter.commits, counter.log
        yield count_sqlite
        return

    # PostgreSQL: the COMMIT records in the WAL (pg_walinspect, PostgreSQL 15+) of the
    # transactions that wrote a row of ours. A transaction without an xid (read only)
    # writes no COMMIT record; a savepoint's writes are listed under its top transaction's
    # record (subxacts), so savepoints do not count twice; autovacuum's ANALYZE writes only
    # catalogs, which are left out. Nothing here depends on timing.
    # The WAL is the cluster's: reading it takes a superuser, which the suite's role (the
    # application's, docs/operations.md) is not. So this instrument reads it on a connection
    # of the throw-away server's superuser (or of the test's own role, on a server given by
    # DATABASE_URL).
    import psycopg

    s = connection.settings_dict
    su = os.environ.get("DAOZHANG_TEST_PG_SUPERUSER", s["USER"])
    wal = psycopg.connect(host=s["HOST"], port=s["PORT"], user=su, password=s["PASSWORD"] if su == s["USER"] else "",
                          dbname=s["NAME"], autocommit=True)
    wal.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")

    def count(fn: Callable[[], Any]) -> tuple[int, list[str]]:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_current_wal_insert_lsn()")
            (start,) = cur.fetchone()
            fn()
            cur.execute("SELECT pg_current_wal_insert_lsn()")
            (end,) = cur.fetchone()
        if start == end:
            return 0, ["no WAL written"]
        with wal.transaction(), wal.cursor() as cur:
            # A transaction of our own that writes WAL (a message, no row), committed
            # synchronously, flushes the WAL up to here, so pg_walinspect may read to `end`;
            # its own COMMIT lies after `end`.
            cur.execute("SET LOCAL synchronous_commit = on")
            cur.execute("SELECT pg_logical_emit_message(true, 'daozhang-test', 'flush')")
        with wal.cursor() as cur:
            cur.execute("SELECT pg_relation_filenode(c.oid) FROM pg_class c JOIN pg_namespace n"
                        " ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
                        " AND pg_relation_filenode(c.oid) IS NOT NULL")
            ours = {str(r[0]) for r in cur.fetchall()}
            cur.execute("SELECT xid::text::bigint, resource_manager, record_type, description, block_ref"
                        " FROM pg_get_wal_records_info(%s, %s)", [start, end])
            records = cur.fetchall()
        wrote: set[int] = set()
        for xid, rmgr, _type, _desc, blocks in records:
            if rmgr in ("Heap", "Heap2", "Btree") and xid and any(
                    fn_ in ours for fn_ in re.findall(r"rel \d+/\d+/(\d+)", blocks or "")):
                wrote.add(xid)
        log = []
        n = 0
        for xid, rmgr, rtype, desc, _blocks in records:
            if rmgr == "Transaction" and rtype.startswith("COMMIT"):
                m = re.search(r"subxacts:((?:\s+\d+)+)", desc or "")
                family = {xid} | ({int(x) for x in m.group(1).split()} if m else set())
                if family & wrote:
                    n += 1
                    log.append(f"COMMIT xid {xid} {desc[:120]}")
        return n, log

    try:
        yield count
    finally:
        wal.close()


def test_one_sale_through_the_api_is_one_commit(
        merchant_kit: MerchantKit, live_server: Any,
        commits_counted: Callable[[Callable[[], Any]], tuple[int, list[str]]]) -> None:
    kit = merchant_kit
    kit.sale(10000)  # a first sale (the test client, in this thread): nothing is opened for the first time below
    call = Call("sale", "/api/v1/payments/sale", {
        "terminal_id": kit.terminal.terminal_id, "stan": "424242", "amount": 12800, "channel": "card",
        "entry_mode": "chip", "card_number": DEBIT_CARD}, kit.api_key)
    answers = []
    n, log = commits_counted(lambda: answers.append(send(live_server.url, call, f"one-commit-{uuid.uuid4()}")))
    assert answers[0].status == 201 and answers[0].body["status"] == "approved", answers[0]
    assert Payment.objects.filter(stan="424242").count() == 1
    assert n == 1, (f"one sale request committed {n} write transactions on {connection.vendor}; the claim, the "
                    "payment with its entry and the stored answer must commit together:\n  " + "\n  ".join(log))
    assert check_ledger().ok


def test_a_replayed_sale_commits_nothing(
        merchant_kit: MerchantKit, live_server: Any,
        commits_counted: Callable[[Callable[[], Any]], tuple[int, list[str]]]) -> None:
    """The counter's other side: a replay reads the stored answer and writes nothing."""
    kit = merchant_kit
    call = Call("sale", "/api/v1/payments/sale", {
        "terminal_id": kit.terminal.terminal_id, "stan": "434343", "amount": 12800, "channel": "card",
        "entry_mode": "chip", "card_number": DEBIT_CARD}, kit.api_key)
    key = f"replay-{uuid.uuid4()}"
    first = send(live_server.url, call, key)
    assert first.status == 201, first
    answers = []
    n, log = commits_counted(lambda: answers.append(send(live_server.url, call, key)))
    assert (answers[0].status, answers[0].body) == (first.status, first.body)
    assert n == 0, log
