"""Property test: the settlement run computes every batch by the documented rule.

The rule lives in SQL (`settlement.runs`, run by PostgreSQL or SQLite); this test restates
it in Python (docs/settlement.md) and lets Hypothesis pick, for a few merchants, any mix of
sales and their fees, undos of earlier-settled sales, risk holds and releases, manual
adjustments and nets carried from earlier batches, on either cycle, active or suspended,
with the D0 fee and the minimum payout set to awkward values. The day's rows are written
straight into their tables (the flows that make them are tested elsewhere); what is
checked is what a merchant would see: each batch's figures and status, which earlier
batches it absorbed, no batch without activity, the ledger moving exactly the due and held
nets, and `check_ledger()` still OK.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from daozhang.core import clock
from daozhang.ledger.accounts import merchant_payout_due
from daozhang.ledger.models import Account, Entry
from daozhang.ledger.selectors import check_ledger
from daozhang.payments.models import Payment
from daozhang.risk.models import RiskHold
from daozhang.settlement.models import Adjustment, SettlementBatch
from daozhang.settlement.runs import run_settlement

DAY = dt.date(2026, 11, 2)  # a Monday
EARLIER = dt.date(2026, 10, 30)
SH = ZoneInfo("Asia/Shanghai")
_seq = itertools.count()

AMOUNT = st.integers(1, 5_000_000)


@dataclass
class Activity:
    cycle: str
    active: bool
    sales: list[tuple[int, int]]  # (amount, fee)
    undos: list[tuple[int, int]]
    holds: list[int]
    releases: list[int]
    adjustments: list[int]
    carried: list[int]  # nets of earlier batches carried forward, not yet absorbed


def _sale() -> st.SearchStrategy[tuple[int, int]]:
    return AMOUNT.flatmap(lambda a: st.tuples(st.just(a), st.integers(0, a)))


ACTIVITY = st.builds(
    Activity,
    cycle=st.sampled_from(["T1", "D0"]),
    active=st.booleans(),
    sales=st.lists(_sale(), max_size=4),
    undos=st.lists(_sale(), max_size=2),
    holds=st.lists(AMOUNT, max_size=2),
    releases=st.lists(AMOUNT, max_size=2),
    adjustments=st.lists(st.integers(-3_000_000, 3_000_000).filter(bool), max_size=2),
    carried=st.lists(st.integers(-3_000_000, 99), max_size=2),
)


def _t1(sales: list[tuple[int, int]]) -> Activity:
    return Activity("T1", True, sales, [], [], [], [], [])


def _d0(sales: list[tuple[int, int]]) -> Activity:
    return Activity("D0", True, sales, [], [], [], [], [])


def expected(a: Activity, d0_ppm: int, d0_fixed: int, min_payout: int) -> tuple[str, int, int] | None:
    """(status, D0 fee, net) by the rule in docs/settlement.md, or None: no batch."""
    if not (a.sales or a.undos or a.holds or a.releases or a.adjustments or a.carried):
        return None
    before = (sum(x for x, _ in a.sales) - sum(f for _, f in a.sales) - sum(x - f for x, f in a.undos)
              - sum(a.holds) + sum(a.releases) + sum(a.adjustments) + sum(a.carried))
    fee = 0
    if a.cycle == "D0" and before > 0:
        fee = min(before, (before * d0_ppm + 500_000) // 1_000_000 + d0_fixed)
    net = before - fee
    if net <= 0 or net < min_payout:
        return ("carried", 0, before)
    return ("due" if a.active else "held", fee, net)


def _write_day(kit: Any, a: Activity) -> list[Any]:
    """The day's rows for one merchant; returns the ids of its carried batches."""
    m, now = kit.merchant, clock.now()
    m.settlement_cycle, m.status = a.cycle, "active" if a.active else "suspended"
    m.save(update_fields=["settlement_cycle", "status"])

    def payment(amount: int, fee: int, **fields: Any) -> Payment:
        n = next(_seq)
        return Payment(merchant=m, terminal=kit.terminal, idempotency_key=f"rule-{n}", channel="wechat",
                       entry_mode="qr", amount=amount, fee=fee, response_code="00", stan=f"{n % 1_000_000:06d}",
                       business_date=DAY, created_at=now, updated_at=now, **fields)

    Payment.objects.bulk_create(
        [payment(x, f, settlement_date=DAY, status="approved") for x, f in a.sales]
        + [payment(x, f, settlement_date=EARLIER, undo_settlement_date=DAY, status="voided") for x, f in a.undos])
    common = {"merchant": m, "case_ref": "RC-1", "reason": "test", "created_by": "risk", "created_at": now}
    RiskHold.objects.bulk_create(
        [RiskHold(amount=x, settlement_date=DAY, **common) for x in a.holds]
        + [RiskHold(amount=x, settlement_date=EARLIER, release_settlement_date=DAY, released_at=now, **common)
           for x in a.releases])
    Adjustment.objects.bulk_create([Adjustment(merchant=m, amount=x, reason="test", created_by="finance",
                                               created_at=now, settlement_date=DAY) for x in a.adjustments])
    carried = [SettlementBatch(merchant=m, settlement_date=EARLIER - dt.timedelta(days=i), cycle=a.cycle,
                               payout_date=EARLIER, net=net, status="carried", created_at=now, updated_at=now)
               for i, net in enumerate(a.carried)]
    SettlementBatch.objects.bulk_create(carried)
    return [b.id for b in carried]


@pytest.fixture
def kits(make_merchant: Any) -> list[Any]:
    """Four merchants, made once for all the examples (each example runs in a transaction
    rolled back at its end)."""
    return [make_merchant() for _ in range(4)]


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(activities=st.lists(ACTIVITY, min_size=1, max_size=4), d0_ppm=st.sampled_from([0, 500, 6000, 999_999]),
       d0_fixed=st.sampled_from([0, 1, 200]), min_payout=st.sampled_from([1, 100, 150_000]))
# The edges random amounts rarely hit: a net of exactly the minimum payout is paid, one fen
# less is carried; a D0 fee of exactly half a fen rounds up; a fee that would eat the whole
# net leaves it carried without a fee.
@example(activities=[_t1([(10_100, 100)]), _t1([(10_099, 100)])], d0_ppm=0, d0_fixed=0, min_payout=10_000)
@example(activities=[_d0([(3_000, 0)]), _d0([(1_000, 0)])], d0_ppm=500, d0_fixed=0, min_payout=1)
@example(activities=[_d0([(150, 0)])], d0_ppm=999_999, d0_fixed=200, min_payout=1)
def test_every_batch_follows_the_rule(kits, monkeypatch, settings, activities, d0_ppm, d0_fixed, min_payout):
    settings.D0_FEE_PPM, settings.D0_FEE_FIXED_FEN, settings.MIN_PAYOUT_FEN = d0_ppm, d0_fixed, min_payout
    settings.SETTLEMENT_CHUNK = 2  # merchants spread over chunks
    monkeypatch.setattr(clock, "now", lambda: dt.datetime(2026, 11, 3, 9, 0, tzinfo=SH))  # after every cut-off
    kits = kits[:len(activities)]
    with transaction.atomic():
        carried_ids = [_write_day(kit, a) for kit, a in zip(kits, activities, strict=False)]
        due_before = {k.merchant.id: _payout_due(k.merchant.id) for k in kits}
        result = run_settlement(DAY)
        moved = 0
        for kit, a, absorbed in zip(kits, activities, carried_ids, strict=False):
            want = expected(a, d0_ppm, d0_fixed, min_payout)
            note(f"{a} -> {want}")
            batch = SettlementBatch.objects.filter(merchant=kit.merchant, settlement_date=DAY).first()
            if want is None:
                assert batch is None
                continue
            assert batch is not None
            assert (batch.status, batch.d0_fee, batch.net) == want
            got = (batch.figure("sales_count"), batch.figure("sales_amount"), batch.figure("fees"), batch.carried_in)
            assert got == (
                len(a.sales), sum(x for x, _ in a.sales), sum(f for _, f in a.sales), sum(a.carried))
            assert set(SettlementBatch.objects.filter(carried_to=batch).values_list("id", flat=True)) == set(absorbed)
            booked = _payout_due(kit.merchant.id) - due_before[kit.merchant.id]
            assert booked == (0 if want[0] == "carried" else want[2])
            entries = Entry.objects.filter(business_ref=f"batch:{batch.id}")
            assert [e.idempotency_key for e in entries] == (
                [] if want[0] == "carried" else [f"settlement:{kit.merchant.id}:{DAY}"])
            if want[0] != "carried":  # the account the database created is the one Python names
                spec = merchant_payout_due(kit.merchant.id)
                account = Account.objects.get(id=spec.id)
                assert (account.code, account.purpose, account.type, account.merchant_id) == (
                    spec.code, spec.purpose, spec.type, kit.merchant.id)
            moved += booked
        assert result.total_net == moved
        # The day's payments, holds and adjustments were written straight into their tables,
        # not booked through their services: only the ledger's own checks and the batches' apply.
        checked = check_ledger()
        assert checked.unbalanced_count == checked.wrong_count == 0
        assert [f for f in checked.findings if f.check.startswith(("ledger.", "settlement.batch"))] == []
        transaction.set_rollback(True)


def _payout_due(merchant_id: Any) -> int:
    account = Account.objects.filter(id=merchant_payout_due(merchant_id).id).first()
    return -account.balance if account else 0
