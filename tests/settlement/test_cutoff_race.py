"""Issue 11, item 8: a sale committed just after the cut-off while the settle job reads could
be stamped with a date already settled, and never be paid. A date is now closed before the
run reads it, under the lock every booking of that date holds until it commits
(`settlement.stamping`): a booking in flight is waited for and counted; one that comes
after gets the next open date. Every flow that stamps goes through the same check."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, connections, transaction

from daozhang.core import clock as core_clock
from daozhang.ledger.selectors import check_ledger
from daozhang.payments import services as payments
from daozhang.payments.bulk import ImportedSale, import_sales
from daozhang.payments.models import Payment
from daozhang.risk.services import hold_funds, release_hold
from daozhang.settlement.adjustments import adjust
from daozhang.settlement.models import ClosedDay, SettlementBatch
from daozhang.settlement.runs import run_settlement
from daozhang.settlement.stamping import close_days
from tests.conftest import DEBIT_CARD
from tests.settlement_helpers import SH, Clock

D = dt.date(2026, 11, 2)
NEXT = D + dt.timedelta(days=1)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def _request(kit, stan: str, amount: int = 10000) -> payments.SaleRequest:
    return payments.SaleRequest(terminal_id=kit.terminal.terminal_id, stan=stan, amount=amount, channel="card",
                                entry_mode="chip", card_number=DEBIT_CARD)


def _batch(kit, day):
    return SettlementBatch.objects.filter(merchant=kit.merchant, settlement_date=day).first()


def test_a_sale_whose_clock_read_came_before_the_cut_off_but_booked_after_the_run_closed_the_day(
        merchant_kit, clock, monkeypatch):
    """Deterministic interleaving: the run of D closes and settles the day between the sale's
    clock read (22:59:59) and its INSERT. Before the fix the sale was stamped D and lost."""
    clock.at(2026, 11, 2, 12, 0)
    assert merchant_kit.sale(20000).status_code == 201  # the day's other sale: the batch exists
    real_insert = payments.insert_with_entries
    ran: list[object] = []

    def run_settles_first(*args, **kwargs):
        if not ran:
            clock.at(2026, 11, 2, 23, 10)
            ran.append(run_settlement(D))
        return real_insert(*args, **kwargs)

    monkeypatch.setattr(payments, "insert_with_entries", run_settles_first)
    moment = dt.datetime(2026, 11, 2, 22, 59, 59, tzinfo=SH)
    monkeypatch.setattr(core_clock, "now", lambda: moment)  # the sale reads the clock before the cut-off
    r = merchant_kit.sale(30000)
    assert r.status_code == 201 and ran
    late = Payment.objects.get(id=r.json()["id"])
    assert late.settlement_date == NEXT  # D was closed: the next open date, never D
    assert r.json().get("settlement_date", NEXT.isoformat()) == NEXT.isoformat()
    assert _batch(merchant_kit, D).figure("sales_amount") == 20000
    clock.settle(2026, 11, 3)
    assert _batch(merchant_kit, NEXT).figure("sales_amount") == 30000  # paid, one day later
    assert check_ledger().ok


@pytest.mark.parametrize("flow", ["sale", "void", "hold", "release", "adjustment", "import"])
def test_every_booking_flow_refuses_a_closed_date(merchant_kit, clock, flow):
    """A date closed by a run (here at 22:30, as a run on a host whose clock runs ahead would)
    is never stamped again, whatever books the money."""
    clock.at(2026, 11, 2, 10, 0)
    first = merchant_kit.sale(10000).json()
    hold = hold_funds(merchant_id=merchant_kit.merchant.id, amount=1000, case_ref="RK-1", reason="check",
                      actor="test")
    clock.at(2026, 11, 2, 22, 30)
    close_days(D, ["T1", "D0"])
    if flow == "sale":
        stamped = Payment.objects.get(id=merchant_kit.sale(5000).json()["id"]).settlement_date
    elif flow == "void":
        r = merchant_kit.post(f"/api/v1/payments/{first['id']}/void",
                              {"terminal_id": merchant_kit.terminal.terminal_id})
        assert r.status_code == 200, r.content
        stamped = Payment.objects.get(id=first["id"]).undo_settlement_date
    elif flow == "hold":
        stamped = hold_funds(merchant_id=merchant_kit.merchant.id, amount=500, case_ref="RK-2", reason="check",
                             actor="test").settlement_date
    elif flow == "release":
        stamped = release_hold(hold_id=hold.id, note="ok", actor="test").release_settlement_date
    elif flow == "adjustment":
        stamped = adjust(merchant_id=merchant_kit.merchant.id, amount=300, reason="fix", actor="test").settlement_date
    else:
        import_sales([ImportedSale(merchant_id=merchant_kit.merchant.id, terminal_pk=merchant_kit.terminal.id,
                                   idempotency_key="imp-1", channel="wechat", entry_mode="qr", card_type="",
                                   amount=7000, stan="000001",
                                   created_at=dt.datetime(2026, 11, 2, 21, 0, tzinfo=SH))])
        stamped = Payment.objects.get(idempotency_key="imp-1").settlement_date
    assert stamped == NEXT


def test_closing_a_day_twice_is_one_row(db, clock):
    clock.at(2026, 11, 2, 23, 5)
    close_days(D, ["T1"])
    close_days(D, ["T1"])
    assert ClosedDay.objects.filter(cycle="T1", day=D).count() == 1


def _run_in_thread(target, results: dict, name: str) -> threading.Thread:
    def body():
        try:
            results[name] = target()
        except BaseException as exc:  # reported by the test
            results[name] = exc
        finally:
            connections.close_all()

    t = threading.Thread(target=body, name=name)
    t.start()
    return t


def _run_waits_on_the_booking() -> None:
    """Until the run's connection waits for the booking's lock (PostgreSQL shows it in
    pg_locks); SQLite shows nothing: its run waits on the write lock all the same."""
    if connection.vendor != "postgresql":
        time.sleep(0.3)
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            if cur.fetchone()[0]:
                return
        time.sleep(0.01)
    raise AssertionError("the run never waited for the booking in flight")


def test_a_sale_committing_while_the_run_starts_is_waited_for_and_settled_in_its_day(
        transactional_db, merchant_kit, clock):
    """Two connections: the sale has stamped D and not committed when the run of D starts. The
    run waits for it (PostgreSQL: the date's lock; SQLite: the write lock) and counts it."""
    moment = {"now": dt.datetime(2026, 11, 2, 22, 59, 59, tzinfo=SH)}
    clock._mp.setattr(core_clock, "now", lambda: moment["now"])
    booked, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def sale_in_flight():
        with transaction.atomic():
            p, _ = payments.sale(merchant=merchant_kit.merchant, idempotency_key="race-1",
                                 req=_request(merchant_kit, "000101", 12300))
            booked.set()
            assert release.wait(30)
        return p

    seller = _run_in_thread(sale_in_flight, results, "sale")
    assert booked.wait(30)
    moment["now"] = dt.datetime(2026, 11, 2, 23, 10, tzinfo=SH)  # past the cut-off: the run may start
    runner = _run_in_thread(lambda: run_settlement(D), results, "run")
    _run_waits_on_the_booking()
    assert runner.is_alive()  # it cannot have read the day: the booking holds the date
    release.set()
    seller.join(60)
    runner.join(60)
    for name in ("sale", "run"):
        if isinstance(results.get(name), BaseException):
            raise results[name]  # type: ignore[misc]
    sale = Payment.objects.get(idempotency_key="race-1")
    assert sale.settlement_date == D
    batch = _batch(merchant_kit, D)
    assert batch is not None and batch.figure("sales_amount") == 12300  # in the batch of its own day
    assert check_ledger().ok


def test_a_sale_arriving_after_the_run_closed_the_day_goes_to_the_next_day_on_two_connections(
        transactional_db, merchant_kit, clock, monkeypatch):
    """The other order: the run holds the day (closed, reading) when a sale whose clock read
    22:59:59 books; it waits for the close, then sees it and takes the next date."""
    moment = {"now": dt.datetime(2026, 11, 2, 23, 10, tzinfo=SH)}
    monkeypatch.setattr(core_clock, "now", lambda: moment["now"])
    closing, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}
    from daozhang.settlement import runs

    real_close = runs.close_days

    def close_and_hold(day, cycles):
        with transaction.atomic():
            real_close(day, cycles)
            closing.set()
            assert release.wait(30)

    monkeypatch.setattr(runs, "close_days", close_and_hold)
    runner = _run_in_thread(lambda: run_settlement(D), results, "run")
    assert closing.wait(30)
    moment["now"] = dt.datetime(2026, 11, 2, 22, 59, 59, tzinfo=SH)  # the sale's clock read: before the cut-off
    seller = _run_in_thread(lambda: payments.sale(merchant=merchant_kit.merchant, idempotency_key="race-2",
                                                  req=_request(merchant_kit, "000102", 4500))[0],
                            results, "sale")
    _run_waits_on_the_booking()  # here the sale waits for the run's close
    release.set()
    runner.join(60)
    seller.join(60)
    for name in ("sale", "run"):
        if isinstance(results.get(name), BaseException):
            raise results[name]  # type: ignore[misc]
    assert Payment.objects.get(idempotency_key="race-2").settlement_date == NEXT
    assert _batch(merchant_kit, D) is None  # the day had nothing else: no batch, and the sale is not lost
    moment["now"] = dt.datetime(2026, 11, 3, 23, 10, tzinfo=SH)
    run_settlement(NEXT)
    assert _batch(merchant_kit, NEXT).figure("sales_amount") == 4500
