"""Settlement at scale: 1,000,000 payments of 10,000 merchants (issue 3).

Measured on a database already migrated and set up by the caller (bench.suite):
1. the floor: a bare `SELECT merchant_id, SUM(…) … GROUP BY merchant_id` over the day's rows
   of every registered settlement source (`settlement.sources`: sales, undos, holds, releases,
   adjustments), timed in the same process just before the run;
2. `run_settlement(day)`: builds the 10,000 batches, posts their ledger entries, links the
   payments (their settlement date was stamped when they were booked);
3. `run_payouts()`: pays the 10,000 batches through the sandbox bank (submit, then the bank's
   answer, each booked in the ledger) — payouts per second;
4. trace look-ups (`trace_payment`) of random payments: per second, median and p95.

The payments are generated with one INSERT … SELECT (set-based, like an import) rather than
through the bulk path, so that setting up a million rows does not dominate the bench; their
fees follow the default plan's wallet rate.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

DAY = dt.date(2026, 11, 2)  # a Monday; T+1 pays on 2026-11-03


def _merchants(n: int) -> list[uuid.UUID]:
    """n merchants, each with one terminal and a verified settlement account (bulk rows)."""
    from django.utils import timezone

    from daozhang.core.models import UniqueValue
    from daozhang.ledger.accounts import merchant_payable, merchant_payout_due
    from daozhang.ledger.services import ensure_accounts
    from daozhang.merchants.models import UNIQUE_MERCHANT_NO, UNIQUE_USCC, Merchant, SettlementAccount
    from daozhang.merchants.services import default_fee_plan
    from daozhang.terminals.models import Terminal

    plan = default_fee_plan()
    now = timezone.now()
    ms = [Merchant(merchant_no=f"899{i:012d}", legal_name=f"Bench {i}", short_name=f"B{i}", uscc=f"BENCH{i:013d}",
                   mcc="5411", region_code="2900", contact_name="x", contact_phone="+8613800000000", fee_plan=plan)
          for i in range(n)]
    Merchant.objects.bulk_create(ms, batch_size=2000)
    # Their numbers and licences registered as onboarding registers them (core.unique).
    UniqueValue.objects.bulk_create(
        [UniqueValue(namespace=ns, value=value, merchant_id=m.id) for m in ms
         for ns, value in ((UNIQUE_MERCHANT_NO, m.merchant_no), (UNIQUE_USCC, m.uscc))], batch_size=2000)
    SettlementAccount.objects.bulk_create(
        [SettlementAccount(merchant=m, holder_name=m.legal_name, account_number=f"6222{i:011d}8", bank_name="Bench",
                           account_type="corporate", verified_at=now) for i, m in enumerate(ms)], batch_size=2000)
    Terminal.objects.bulk_create(
        [Terminal(serial_number=f"SN-B-{i:07d}", terminal_id=f"B{i:07d}", merchant=m, status="active")
         for i, m in enumerate(ms)], batch_size=2000)
    ensure_accounts([merchant_payable(m.id) for m in ms] + [merchant_payout_due(m.id) for m in ms])
    return [m.id for m in ms]


def _payments(per_merchant: int) -> int:
    """per_merchant approved WeChat sales for every merchant, stamped for settlement on DAY."""
    from django.db import connection

    at = dt.datetime.combine(DAY, dt.time(12, 0), tzinfo=ZoneInfo("Asia/Shanghai"))
    ops = connection.ops
    created, day = ops.adapt_datetimefield_value(at), ops.adapt_datefield_value(DAY)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "INSERT INTO payments_payment (id, merchant_id, terminal_id, idempotency_key, channel, entry_mode,"
                " card_type, amount, fee, fee_rule, currency, status, response_code, response_message, stan, rrn,"
                " auth_code, channel_txn_id, masked_pan, last4, pan_token, business_date, created_at, updated_at,"
                " settlement_date)"
                " SELECT gen_random_uuid(), t.merchant_id, t.id, 'bench-' || t.terminal_id || '-' || g, 'wechat',"
                " 'qr', '', 1000 + (g * 37) %% 100000, ((1000 + (g * 37) %% 100000) * 3800 + 500000) / 1000000,"
                " 'wallet', 'CNY', 'approved', '00', '', lpad((g %% 1000000)::text, 6, '0'),"
                " lpad((g %% 1000000000000)::text, 12, '0'), '', '', '', '', '', %s, %s, %s, %s"
                " FROM terminals_terminal t CROSS JOIN generate_series(1, %s) g WHERE t.terminal_id LIKE 'B%%'",
                [day, created, created, day, per_merchant])
        else:
            cur.execute(
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < %s)"
                " INSERT INTO payments_payment (id, merchant_id, terminal_id, idempotency_key, channel, entry_mode,"
                " card_type, amount, fee, fee_rule, currency, status, response_code, response_message, stan, rrn,"
                " auth_code, channel_txn_id, masked_pan, last4, pan_token, business_date, created_at, updated_at,"
                " settlement_date)"
                " SELECT lower(hex(randomblob(16))), t.merchant_id, t.id, 'bench-' || t.terminal_id || '-' || g.n,"
                " 'wechat', 'qr', '', 1000 + (g.n * 37) % 100000,"
                " ((1000 + (g.n * 37) % 100000) * 3800 + 500000) / 1000000, 'wallet', 'CNY', 'approved', '00', '',"
                " substr('000000' || (g.n % 1000000), -6), substr('000000000000' || g.n, -12), '', '', '', '', '',"
                " %s, %s, %s, %s FROM terminals_terminal t CROSS JOIN g WHERE t.terminal_id LIKE 'B%%'",
                [per_merchant, day, created, created, day])
        cur.execute("SELECT COUNT(*) FROM payments_payment WHERE settlement_date = %s", [day])
        return int(cur.fetchone()[0])


def _settle_in() -> None:
    """Leave the day's rows as a day of traffic would have: vacuumed and analysed,
    checkpointed and on disk, so neither the floor nor the run is timed beside the
    autovacuum, checkpoint or kernel write-back that loading a million rows at once sets
    off (measured: SQLite runs then took 1.4 s instead of 0.85 s, one time in two)."""
    import os

    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("VACUUM (ANALYZE) payments_payment")
            cur.execute("CHECKPOINT")
        else:
            cur.execute("ANALYZE")
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    os.sync()


def _group_by() -> tuple[float, int]:
    """The floor: each registered source's tally as a bare GROUP BY over the day's rows
    (sales, undos, holds, releases, adjustments, …), nothing joined, nothing written."""
    from django.db import connection

    from daozhang.settlement.sources import all_sources

    day = connection.ops.adapt_datefield_value(DAY)
    rows = 0
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        for tally in (t for s in all_sources() for t in s.tallies):
            cur.execute(f"SELECT merchant_id, {', '.join(tally.sums.values())} FROM {tally.table}"
                        f" WHERE {tally.date_column} = %s GROUP BY merchant_id", [day])
            rows = max(rows, len(cur.fetchall()))
    return time.perf_counter() - t0, rows


def measure(merchants: int = 10_000, per_merchant: int = 100, trace_samples: int = 1_000,
            say: Callable[[str], None] = print) -> dict[str, Any]:
    from daozhang.core import clock
    from daozhang.payments.models import Payment
    from daozhang.settlement.models import Payout, SettlementBatch
    from daozhang.settlement.payouts import run_payouts
    from daozhang.settlement.runs import run_settlement
    from daozhang.tracing.trace import trace_payment

    t0 = time.perf_counter()
    ids = _merchants(merchants)
    rows = _payments(per_merchant)
    _settle_in()
    say(f"settlement data: {merchants:,} merchants, {rows:,} payments in {time.perf_counter() - t0:.1f} s")
    clock_now = clock.now
    try:
        clock.now = lambda: dt.datetime(2026, 11, 3, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))  # type: ignore[assignment]
        floor = min(_group_by()[0] for _ in range(3))
        t0 = time.perf_counter()
        result = run_settlement(DAY, cycles=("T1",))
        settle_s = time.perf_counter() - t0
        say(f"settle: {result.batches:,} batches in {settle_s:.2f} s; bare GROUP BY {floor:.3f} s "
            f"(×{settle_s / floor:.1f})")
        clock.now = lambda: dt.datetime(2026, 11, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # type: ignore[assignment]
        t0 = time.perf_counter()
        pr = run_payouts(DAY + dt.timedelta(days=1))
        pay_s = time.perf_counter() - t0
        paid = Payout.objects.filter(status="paid").count()
        say(f"payouts: {paid:,} paid in {pay_s:.1f} s ({paid / pay_s:,.0f}/s); returned {pr.returned}")
        rng = random.Random(7)
        sample = list(Payment.objects.filter(settlement_date=DAY).values_list("id", "merchant_id")[:200_000])
        picks = [sample[rng.randrange(len(sample))] for _ in range(trace_samples)]
        from daozhang.merchants.models import Merchant

        merchants_by_id = {m.id: m for m in Merchant.objects.filter(id__in={m for _, m in picks})}
        times = []
        t_all = time.perf_counter()
        for pid, mid in picks:
            t1 = time.perf_counter()
            tr = trace_payment(merchants_by_id[mid], pid)
            times.append(time.perf_counter() - t1)
            assert tr.cause == "arrived", tr.cause
        trace_s = time.perf_counter() - t_all
    finally:
        clock.now = clock_now  # type: ignore[assignment]
    times.sort()
    out = {
        "merchants": merchants, "payments": rows, "batches": SettlementBatch.objects.count(),
        "group_by_s": floor, "settle_s": settle_s, "settle_vs_group_by": settle_s / floor,
        "payouts": paid, "payouts_s": pay_s, "payouts_per_s": paid / pay_s,
        "trace_per_s": trace_samples / trace_s, "trace_median_ms": statistics.median(times) * 1000,
        "trace_p95_ms": times[int(len(times) * 0.95)] * 1000, "merchant_ids": len(ids),
    }
    say(f"trace: {out['trace_per_s']:,.0f}/s, median {out['trace_median_ms']:.2f} ms, p95 {out['trace_p95_ms']:.2f} ms")
    return out


def _one(db: str, url: str, out: str, merchants: int, per_merchant: int) -> None:
    """Child process: one database (Django reads its settings once per process)."""
    import json

    from bench.common import setup_django

    setup_django(url, "daozhang.settings")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    figures = measure(merchants=merchants, per_merchant=per_merchant, say=lambda s: print(f"[{db}] {s}", flush=True))
    with open(out, "w") as fh:
        json.dump(figures, fh)


def main() -> None:
    """`python -m bench.settlement`: the settlement figures on SQLite and PostgreSQL side by side."""
    import argparse
    import json
    import shutil
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from daozhang.testing import pgserver

    ap = argparse.ArgumentParser()
    ap.add_argument("--merchants", type=int, default=10_000)
    ap.add_argument("--per-merchant", type=int, default=100)
    ap.add_argument("--child", nargs=3, metavar=("DB", "URL", "OUT"))
    args = ap.parse_args()
    if args.child:
        _one(*args.child, args.merchants, args.per_merchant)
        return
    work = Path(tempfile.mkdtemp(prefix="daozhang-settle-bench-"))
    server = pgserver.start(durable=True)  # fsync on: commits are durable, as in production
    results: dict[str, dict[str, Any]] = {}
    try:
        for db, url in (("sqlite", f"sqlite:///{work / 'settle.sqlite3'}"), ("postgres", server.url)):
            out = work / f"{db}.json"
            subprocess.run([sys.executable, "-m", "bench.settlement", "--merchants", str(args.merchants),
                            "--per-merchant", str(args.per_merchant), "--child", db, url, str(out)], check=True)
            results[db] = json.loads(out.read_text())
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    rows = [("payments settled", "payments"), ("bare GROUP BY (s)", "group_by_s"), ("settlement run (s)", "settle_s"),
            ("settlement ÷ GROUP BY", "settle_vs_group_by"), ("payouts per second", "payouts_per_s"),
            ("trace look-ups per second", "trace_per_s"), ("trace median (ms)", "trace_median_ms"),
            ("trace p95 (ms)", "trace_p95_ms")]
    print(f"\n{'':28}{'SQLite':>14}{'PostgreSQL':>14}")
    for label, key in rows:
        print(f"{label:28}" + "".join(f"{results[db][key]:>14,.2f}" for db in ("sqlite", "postgres")))
    for db in ("sqlite", "postgres"):
        r = results[db]
        print(f"{db}: settlement within 4× of GROUP BY: {'PASS' if r['settle_vs_group_by'] <= 4 else 'MISS'} "
              f"(×{r['settle_vs_group_by']:.1f}); trace median < 20 ms: "
              f"{'PASS' if r['trace_median_ms'] < 20 else 'MISS'} ({r['trace_median_ms']:.1f} ms)")
    RESULTS = Path(__file__).resolve().parent / "results"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "settlement-latest.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
