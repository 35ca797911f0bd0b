"""The registry of periodic jobs and the loop that enqueues them.

Every worker process runs the loop; a job's time slot is a request under the key
(name, slot) of the one exactly-once mechanism (`core.once`), so with ten workers a slot
is still enqueued once, and the enqueued task row and the slot's record commit together.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.db import close_old_connections

from daozhang.core.errors import DomainError
from daozhang.core.ids import PLATFORM_ID
from daozhang.core.once import Request, once

log = logging.getLogger("daozhang.scheduler")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: int
    enqueue: Callable[[], object]


REGISTRY: list[PeriodicJob] = []


def periodic(name: str, every_seconds: int) -> Callable[[Callable[[], object]], Callable[[], object]]:
    def register(fn: Callable[[], object]) -> Callable[[], object]:
        REGISTRY.append(PeriodicJob(name, every_seconds, fn))
        return fn

    return register


def tick(now: float | None = None) -> list[str]:
    """Enqueue every job whose current slot has not been claimed yet."""
    now = time.time() if now is None else now
    started = []
    for job in REGISTRY:
        slot = int(now // job.every_seconds)
        request = Request(merchant_id=PLATFORM_ID, scope="scheduler", key=f"{job.name}:{slot}",
                          fingerprint=job.name, field="slot")
        try:
            _, _, replayed = once(request, partial(_enqueue, job))
        except DomainError:  # another worker is enqueuing this very slot
            continue
        if not replayed:
            started.append(job.name)
    return started


def _enqueue(job: PeriodicJob, _claim: object) -> tuple[int, dict[str, str]]:
    return 200, {"enqueued": str(job.enqueue())[:200]}


def run_forever(stop: threading.Event, interval: float = 5.0) -> None:
    while not stop.is_set():
        try:
            close_old_connections()
            for name in tick():
                log.debug("enqueued periodic job %s", name)  # every few seconds: not for the terminal
        except Exception:  # the loop must outlive a database hiccup
            log.exception("scheduler tick failed")
        stop.wait(interval)
