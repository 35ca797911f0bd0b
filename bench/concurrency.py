"""Concurrent writers on PostgreSQL: separate processes, each selling for its own merchants.

Every writer runs the online path (`payments.services.sale`) for merchants no other writer
uses, so what they share is exactly what production shares: the hot platform accounts
(channel receivables, fee income; sharded in ledger/accounts.py) and the database. A pool
of four processes is started once; a round tells the first k of them to sell from the
same instant for the same number of seconds, and the rate is every payment they
committed over the round's wall-clock time. Rounds alternate 1, 4, 1, 4 writers so a
drift of the machine hits both figures alike.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import time
from collections.abc import Sequence
from typing import Any

from bench.common import Shop, setup_django

WARMUP = 50


def _writer(url: str, shops: Sequence[Shop], cmds: Any, results: Any, seed: int) -> None:
    setup_django(url, "daozhang.settings")
    from bench.online import ours

    one = ours(shops, random.Random(seed), f"w{seed}")
    for _ in range(WARMUP):
        one()
    results.put(("ready", seed))
    while (cmd := cmds.get()) is not None:
        start, seconds = cmd
        while time.monotonic() < start:
            time.sleep(0.0005)
        end = start + seconds
        n = 0
        done = time.monotonic()
        while done < end:
            one()
            n += 1
            done = time.monotonic()
        results.put(("done", n, done))


class WriterPool:
    def __init__(self, url: str, shop_groups: Sequence[Sequence[Shop]]) -> None:
        ctx = mp.get_context("spawn")
        self.results = ctx.Queue()
        self.cmds = [ctx.Queue() for _ in shop_groups]
        self.procs = [
            ctx.Process(target=_writer, args=(url, list(g), q, self.results, 1000 + i), daemon=True)
            for i, (g, q) in enumerate(zip(shop_groups, self.cmds, strict=True))
        ]
        for p in self.procs:
            p.start()
        for _ in self.procs:
            kind, *_ = self.results.get(timeout=120)
            assert kind == "ready"

    def round(self, writers: int, seconds: float) -> tuple[int, float]:
        """(payments, seconds) of one round with `writers` processes selling at once."""
        start = time.monotonic() + 0.2
        for q in self.cmds[:writers]:
            q.put((start, seconds))
        total, last = 0, start
        for _ in range(writers):
            kind, n, done = self.results.get(timeout=seconds + 120)
            assert kind == "done"
            total += n
            last = max(last, done)
        return total, last - start

    def close(self) -> None:
        for q in self.cmds:
            q.put(None)
        for p in self.procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
