"""Progress of long work: a bar on the terminal and a JobRun row for the console."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from django.utils import timezone
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from daozhang.core.models import JobRun


@contextlib.contextmanager
def tracked(kind: str, label: str, total: int | None, show: bool = True) -> Iterator[Callable[[int], None]]:
    """Yield `advance(n)`; the JobRun ends succeeded, or failed with the error's text."""
    run = JobRun.objects.create(kind=kind, label=label, total=total)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   disable=not show)
    task = bar.add_task(label, total=total)

    def advance(n: int) -> None:
        run.done += n
        JobRun.objects.filter(id=run.id).update(done=run.done)
        bar.advance(task, n)

    with bar:
        try:
            yield advance
        except BaseException as exc:
            JobRun.objects.filter(id=run.id).update(status=JobRun.Status.FAILED, message=str(exc)[:2000],
                                                     finished_at=timezone.now())
            raise
    JobRun.objects.filter(id=run.id).update(status=JobRun.Status.SUCCEEDED, finished_at=timezone.now())
