"""The registry of periodic jobs and the loop that enqueues them.

Every worker process runs the loop; a job's time slot is claimed by inserting a
(name, slot) row, so with ten workers a slot is still enqueued once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, close_old_connections, transaction

from daozhang.core.models import PeriodicRun

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
        try:
            with transaction.atomic():
                PeriodicRun.objects.create(name=job.name, slot=slot)
                job.enqueue()
        except IntegrityError:
            continue
        started.append(job.name)
    return started


def run_forever(stop: threading.Event, interval: float = 5.0) -> None:
    while not stop.is_set():
        try:
            close_old_connections()
            for name in tick():
                log.info("enqueued periodic job %s", name)
        except Exception:  # the loop must outlive a database hiccup
            log.exception("scheduler tick failed")
        stop.wait(interval)
