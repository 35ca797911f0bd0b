"""The real worker process resolves a timed-out sale on its own (scheduler + queue)."""

from __future__ import annotations

import subprocess
import sys
import time

from daozhang.payments.models import Payment


def test_worker_process_reverses_unknown_card_sale(make_merchant, child_env):
    kit = make_merchant()
    r = kit.sale(4598)
    assert r.json()["status"] == "unknown"
    worker = subprocess.Popen(
        [sys.executable, "-m", "daozhang.cli", "worker", "--interval", "0.2"],
        env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        status = "unknown"
        deadline = time.monotonic() + 90  # a generous bound for a slow machine, not a speed check
        while status == "unknown" and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.3)
            status = Payment.objects.get(id=r.json()["id"]).status
    finally:
        worker.terminate()
        out = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert status == "reversed", out[-3000:]
