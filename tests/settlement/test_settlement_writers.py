"""A settlement run on several connections at once settles every merchant exactly once.

PostgreSQL only: there `run_settlement` writes its chunks on `SETTLEMENT_WRITERS`
connections (SQLite has a single writer). The crash-safety test kills such a run; this one
checks the plain outcome: the same batches, entries and balances as one writer would
leave, progress reported per chunk, and a second run writing nothing.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Sum

from daozhang.core import clock
from daozhang.ledger.models import Entry
from daozhang.ledger.selectors import check_ledger, merchant_payable_balance
from daozhang.merchants import services as merchants
from daozhang.payments.bulk import ImportedSale, import_sales
from daozhang.settlement.models import SettlementBatch
from daozhang.settlement.runs import run_settlement
from daozhang.terminals.models import Terminal
from tests.conftest import onboarding
from tests.threads import at_once

DAY = dt.date(2026, 11, 2)
N = 9


@pytest.mark.django_db(transaction=True)
def test_parallel_writers_settle_each_merchant_once(settings, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("several writers only on PostgreSQL")
    settings.SETTLEMENT_CHUNK = 2  # five chunks
    settings.SETTLEMENT_WRITERS = 2
    at = dt.datetime(2026, 11, 2, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    rows, ids = [], []
    for i in range(N):
        m = merchants.onboard_merchant(data=onboarding(81000 + i), actor="test")
        t = Terminal.objects.create(serial_number=f"SN-PAR-{i:05d}", terminal_id=f"P{i:07d}", merchant=m,
                                    status="active")
        ids.append(m.id)
        rows += [ImportedSale(merchant_id=m.id, terminal_pk=t.id, idempotency_key=f"par-{i}-{k}", channel="wechat",
                              entry_mode="qr", card_type="", amount=10000 + 100 * i + k, stan=f"{k:06d}",
                              created_at=at) for k in range(2)]
    import_sales(rows)
    monkeypatch.setattr(clock, "now", lambda: dt.datetime(2026, 11, 3, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai")))

    reported: list[int] = []
    result = run_settlement(DAY, cycles=("T1",), progress=reported.append)
    assert (result.batches, result.due, result.skipped_existing) == (N, N, 0)
    assert sorted(reported) == [1, 2, 2, 2, 2]
    assert SettlementBatch.objects.count() == N
    assert Entry.objects.filter(kind="settlement.batch").count() == N
    assert all(merchant_payable_balance(m) == 0 for m in ids)  # everything moved to payout due
    assert result.total_net == SettlementBatch.objects.aggregate(s=Sum("net"))["s"]
    assert check_ledger().ok

    again = run_settlement(DAY, cycles=("T1",))
    assert (again.batches, again.skipped_existing) == (0, N)
    assert Entry.objects.filter(kind="settlement.batch").count() == N


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_settle_each_merchant_once(settings, monkeypatch):
    """Two operators press "settle" together (or the worker and an operator): both runs
    race over the same chunks; the unique (merchant, date) key makes the loser of each
    chunk settle only what the winner did not, and between them every merchant is
    settled exactly once."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent connections on a shared test database: PostgreSQL")
    settings.SETTLEMENT_CHUNK = 2
    settings.SETTLEMENT_WRITERS = 2
    at = dt.datetime(2026, 11, 2, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    rows = []
    for i in range(N):
        m = merchants.onboard_merchant(data=onboarding(82000 + i), actor="test")
        t = Terminal.objects.create(serial_number=f"SN-RACE-{i:05d}", terminal_id=f"R{i:07d}", merchant=m,
                                    status="active")
        rows += [ImportedSale(merchant_id=m.id, terminal_pk=t.id, idempotency_key=f"race-{i}", channel="wechat",
                              entry_mode="qr", card_type="", amount=20000 + i, stan=f"{i:06d}", created_at=at)]
    import_sales(rows)
    monkeypatch.setattr(clock, "now", lambda: dt.datetime(2026, 11, 3, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai")))

    results = at_once(lambda: run_settlement(DAY, cycles=("T1",)))
    assert sum(r.batches for r in results) == N
    assert sum(r.batches + r.skipped_existing for r in results) == 2 * N
    assert SettlementBatch.objects.count() == N
    assert Entry.objects.filter(kind="settlement.batch").count() == N
    assert sum(r.total_net for r in results) == SettlementBatch.objects.aggregate(s=Sum("net"))["s"]
    assert check_ledger().ok
