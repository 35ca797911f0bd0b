"""A settlement run or payout run killed with SIGKILL half-way, then started again, pays
every merchant exactly once — real processes, real kills, no mocks."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

from django.db.models import Sum

from daozhang.channels.models import SandboxBankTransfer
from daozhang.core.models import JobRun
from daozhang.core.progress import INTERRUPTED
from daozhang.ledger.selectors import check_ledger
from daozhang.merchants import services as merchants
from daozhang.payments.bulk import ImportedSale, import_sales
from daozhang.settlement.models import Payout, SettlementBatch
from daozhang.terminals.models import Terminal
from tests.conftest import onboarding

DAY = dt.date(2026, 11, 2)  # long closed: its cut-off has passed for the child processes
N = 600


def _merchants_with_sales() -> int:
    at = dt.datetime(2026, 11, 2, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    rows, expected = [], 0
    for i in range(N):
        m = merchants.onboard_merchant(data=onboarding(70000 + i), actor="test")
        t = Terminal.objects.create(serial_number=f"SN-CRASH-{i:05d}", terminal_id=f"C{i:07d}", merchant=m,
                                    status="active")
        for k in range(3):
            amount = 10000 + 100 * i + k
            rows.append(ImportedSale(merchant_id=m.id, terminal_pk=t.id, idempotency_key=f"crash-{i}-{k}",
                                     channel="wechat", entry_mode="qr", card_type="", amount=amount,
                                     stan=f"{k:06d}", created_at=at))
    import_sales(rows)
    expected = sum(r.amount for r in rows)
    return expected


def _kill_when(cmd: list[str], env: dict[str, str], kind: str) -> None:
    """Start `daozhang …`, SIGKILL it as soon as its JobRun shows progress."""
    proc = subprocess.Popen([sys.executable, "-m", "daozhang.cli", *cmd], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        run = JobRun.objects.filter(kind=kind).order_by("-started_at").first()
        if run is not None and run.done > 0:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"


def _run(cmd: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "daozhang.cli", *cmd], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_killed_settlement_and_payout_runs_pay_everyone_once(child_env):
    gross = _merchants_with_sales()
    env = {**child_env, "DAOZHANG_SETTLEMENT_CHUNK": "5"}

    _kill_when(["settle", "--date", str(DAY), "--quiet"], env, "settlement.run")
    half = SettlementBatch.objects.count()
    assert 0 < half < N, half
    out = _run(["settle", "--date", str(DAY), "--quiet"], env)
    assert f"{N - half} new batches" in out and f"{half} already settled" in out
    # The killed run's row does not stay "running" forever: the next run of its kind marks it.
    killed, again = JobRun.objects.filter(kind="settlement.run").order_by("started_at")
    assert (killed.status, killed.message, again.status) == ("failed", INTERRUPTED, "succeeded")
    assert SettlementBatch.objects.count() == N
    net = SettlementBatch.objects.aggregate(s=Sum("net"))["s"]
    fees = sum(b.figure("fees") for b in SettlementBatch.objects.all())
    assert net == gross - fees

    _kill_when(["payouts", "run", "--date", "2026-11-03", "--quiet"], env, "payouts.run")
    assert 0 < Payout.objects.count() <= N
    _run(["payouts", "run", "--date", "2026-11-03", "--quiet"], env)
    _run(["payouts", "run", "--date", "2026-11-03", "--quiet"], env)
    assert JobRun.objects.filter(kind="payouts.run").order_by("started_at")[0].message == INTERRUPTED
    assert not JobRun.objects.filter(status="running").exists()
    assert Payout.objects.count() == N and Payout.objects.filter(status="paid").count() == N
    assert SandboxBankTransfer.objects.count() == N  # the bank was asked to pay each merchant once
    assert SandboxBankTransfer.objects.aggregate(s=Sum("amount"))["s"] == net
    assert SettlementBatch.objects.filter(status="paid").count() == N
    assert check_ledger().ok
