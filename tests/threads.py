"""Running the same code on several connections at once, as two clients or two operators would."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connections

T = TypeVar("T")


def at_once(task: Callable[[], T], n: int = 2) -> list[T]:
    """Run `task` on `n` threads released together, each on its own database connection
    (closed at the end); returns their results, or raises the first thread's error."""
    start = threading.Barrier(n, timeout=20)
    results: list[T] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            start.wait()
            results.append(task())
        except BaseException as exc:  # re-raised in the calling thread below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
