"""A new money flow is a registered source: it reaches a batch, its statement, its trace and
the enquiry without settlement or tracing code being touched.

The fake flow here — terminal deposits refunded to the merchant — has its own table (made by
the test), books its own ledger entry, stamps its own settlement date, and declares once what
it adds to a merchant's day. Nothing else is written for it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest
from django.db import connection, transaction

from daozhang.core import clock as core_clock
from daozhang.ledger.accounts import adjustments_account, merchant_payable
from daozhang.ledger.selectors import check_ledger
from daozhang.ledger.services import Leg, NewEntry, post_entry
from daozhang.settlement.models import SettlementBatch
from daozhang.settlement.sources import Figure, Line, Note, Source, Tally, Wording, all_figures, register, registered
from daozhang.settlement.stamping import settlement_date_of
from daozhang.testing.tamper import tampering
from tests.settlement_helpers import Clock

D = dt.date
TABLE = "test_deposit_refund"


def _db_id(value: uuid.UUID) -> object:
    return value.hex if connection.vendor == "sqlite" else value


def _rows(merchant_id: uuid.UUID, day: dt.date) -> list[tuple[str, int]]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT device, amount FROM {TABLE} WHERE merchant_id = %s AND settlement_date = %s"
                    " ORDER BY device", [_db_id(merchant_id), connection.ops.adapt_datefield_value(day)])
        return [(d, int(a)) for d, a in cur.fetchall()]


DEPOSITS = Source(
    name="test_deposit_refunds", position=40,
    figures=(Figure("deposit_refunds", +1, ("deposit refunds", "押金退还")),),
    tallies=(Tally(TABLE, "settlement_date", {"deposit_refunds": "SUM(amount)"}),),
    lines=lambda m, day: [Line("", "押金退还 deposit refund", device, "returned device", amount, 0, amount)
                          for device, amount in _rows(m, day)],
    notes=lambda m, day: [Note("deposit_refunded", {"device": device, "amount": f"¥{amount / 100:.2f}"})
                          for device, amount in _rows(m, day)],
    wordings=(Wording("deposit_refunded", ("Deposit refunded", "押金已退还"),
                      ("The deposit of device {device} ({amount}) is paid back with this batch.",
                       "设备 {device} 的押金（{amount}）随本批次退还。"),
                      ("Nothing to do.", "无需操作。")),),
)


@pytest.fixture(scope="session")
def deposits_table(django_db_setup, django_db_blocker):
    """The fake flow's table, made by the tables' owner as a migration would (the suite's
    application role may not create tables), once: dropped when the session ends."""
    with django_db_blocker.unblock():
        pg = connection.vendor == "postgresql"
        with tampering(lift_guards=False) as cur:
            # Keyed as every merchant table is (core/distribution.py: distributable by merchant).
            cur.execute(f"CREATE TABLE {TABLE} (id integer NOT NULL, merchant_id {'uuid' if pg else 'char(32)'}"
                        " NOT NULL, settlement_date date, device varchar(20), amount bigint,"
                        " PRIMARY KEY (merchant_id, id))")
            if pg:
                cur.execute(f'GRANT SELECT, INSERT ON {TABLE} TO "{connection.settings_dict["USER"]}"')
    yield
    with django_db_blocker.unblock(), tampering(lift_guards=False) as cur:
        cur.execute(f"DROP TABLE {TABLE}")


@pytest.fixture
def deposits(db, deposits_table):
    with registered(DEPOSITS):
        yield _refund_deposit


_ids = iter(range(1, 10_000))


def _refund_deposit(merchant, device: str, amount: int) -> dt.date:
    """The fake flow's service: book the refund and stamp its settlement date, in one transaction."""
    now = core_clock.now()
    with transaction.atomic():
        day = settlement_date_of(merchant_id=merchant.id, cycle=merchant.settlement_cycle, at=now)
        n = next(_ids)
        with connection.cursor() as cur:
            cur.execute(f"INSERT INTO {TABLE} VALUES (%s, %s, %s, %s, %s)",
                        [n, _db_id(merchant.id), connection.ops.adapt_datefield_value(day), device, amount])
        post_entry(NewEntry(kind="test.deposit_refund", idempotency_key=f"deposit:{n}",
                            business_ref=f"deposit:{n}", business_date=core_clock.business_date(now),
                            merchant_id=merchant.id,
                            legs=(Leg(adjustments_account(merchant.id), amount),
                                  Leg(merchant_payable(merchant.id), -amount))))
    return day


def test_a_registered_flow_reaches_batch_statement_trace_and_enquiry(merchant_kit, deposits, monkeypatch):
    clock = Clock(monkeypatch)
    clock.at(2026, 11, 2, 10, 0)
    merchant_kit.sale(10000)  # net 99.50
    assert deposits(merchant_kit.merchant, "SN-0001", 30000) == D(2026, 11, 2)
    clock.settle(2026, 11, 2)

    batch = SettlementBatch.objects.get(merchant=merchant_kit.merchant)
    assert batch.figure("deposit_refunds") == 30000
    assert batch.net == 9950 + 30000
    assert check_ledger().ok

    r = merchant_kit.client.get(f"/api/v1/settlements/{batch.id}/statement.csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    line = next(row for row in rows if len(row) == 7 and row[1] == "押金退还 deposit refund")
    assert line[2] == "SN-0001" and line[6] == "300.00"

    listed = merchant_kit.client.get("/api/v1/settlements").json()[0]
    assert {"key": "deposit_refunds", "sign": 1, "label_en": "deposit refunds", "label_zh": "押金退还",
            "amount": 30000} in listed["figures"]

    body = merchant_kit.client.get(f"/api/v1/trace/batches/{batch.id}", HTTP_ACCEPT_LANGUAGE="en").json()
    assert any("deposit refunds ¥300.00" in e["event"] for e in body["timeline"])
    note = next(n for n in body["notes"] if n["code"] == "deposit_refunded")
    assert note["explanation"] == "The deposit of device SN-0001 (¥300.00) is paid back with this batch."
    zh = merchant_kit.client.get(f"/api/v1/trace/batches/{batch.id}", HTTP_ACCEPT_LANGUAGE="zh-CN").json()
    assert any("押金退还 ¥300.00" in e["event"] for e in zh["timeline"])

    exact = merchant_kit.post("/api/v1/enquiries", {"expected_amount": 39950, "expected_date": "2026-11-03"}).json()
    assert exact["matched"] == "exact"
    differs = merchant_kit.post("/api/v1/enquiries", {"expected_amount": 9950, "expected_date": "2026-11-03"}).json()
    assert differs["matched"] == "batch_differs" and "deposit refunds ¥300.00" in differs["explanation"]


def test_a_day_with_only_the_new_flow_is_found_unsettled(merchant_kit, deposits, monkeypatch):
    clock = Clock(monkeypatch)
    clock.at(2026, 11, 4, 10, 0)
    deposits(merchant_kit.merchant, "SN-0002", 50000)

    day = merchant_kit.client.get("/api/v1/trace/days/2026-11-04", HTTP_ACCEPT_LANGUAGE="en").json()
    assert day["amount"] == 50000 and day["cause"]["code"] == "not_due"
    answer = merchant_kit.post("/api/v1/enquiries", {"expected_amount": 50000, "expected_date": "2026-11-05"}).json()
    assert answer["matched"] == "not_settled" and "2026-11-04" in answer["explanation"]


def test_a_source_cannot_take_another_sources_figure():
    thief = Source(name="thief", position=99, figures=(Figure("sales_amount", 1, ("x", "x")),),
                   tallies=(), lines=lambda m, d: [])
    with pytest.raises(ValueError, match="already belong"):
        register(thief)
    assert [f.key for f in all_figures()].count("sales_amount") == 1


def test_a_tally_may_only_sum_declared_figures():
    with pytest.raises(ValueError, match="undeclared"):
        Source(name="bad", position=1, figures=(), tallies=(Tally("t", "d", {"x": "SUM(a)"}),),
               lines=lambda m, d: [])
    with pytest.raises(ValueError, match="lower-case"):
        Figure("Robert'); DROP TABLE", 1, ("x", "x"))
