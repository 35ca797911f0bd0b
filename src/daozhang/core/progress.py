"""Progress of long work: a bar on the terminal and a JobRun row for the console.

A run killed with SIGKILL (or by a power cut) cannot mark its own row; it used to stay
"running" forever (issue 11, item 9). Each row therefore says which process runs it (host,
pid and the process's start time), and when a job of a kind starts, the earlier rows of
that kind still "running" whose process is gone are marked failed, "interrupted (process
ended)". On this host the process is looked up directly; a row of another host is judged
by its heartbeat (refreshed as the job advances), stale after `JOB_STALE_MINUTES`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
from collections.abc import Callable, Iterator

from django.conf import settings
from django.utils import timezone
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from daozhang.core.models import JobRun

INTERRUPTED = "interrupted (process ended) / 已中断（进程已结束）"


def _proc_start(pid: int) -> str:
    """The start time of process `pid` in clock ticks since boot ("" where /proc is absent):
    with the pid it names one process, even after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            # Field 22; the command name (field 2) may contain spaces, so split after its ")".
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _alive(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, another user's
    return not started or not _proc_start(pid) or _proc_start(pid) == started


def _host() -> str:
    return socket.gethostname()[:255]


def mark_interrupted(kind: str) -> int:
    """Mark the earlier runs of `kind` left "running" by a process that is gone; returns how many."""
    host, now = _host(), timezone.now()
    stale = now - dt.timedelta(minutes=int(getattr(settings, "JOB_STALE_MINUTES", 60)))
    gone = []
    for run in JobRun.objects.filter(kind=kind, status=JobRun.Status.RUNNING):
        if run.pid is None:
            continue  # written before runs recorded their process: not ours to judge
        if run.host == host:
            if not _alive(run.pid, run.proc_start):
                gone.append(run.id)
        elif (run.heartbeat_at or run.started_at) < stale:
            gone.append(run.id)
    if gone:
        JobRun.objects.filter(id__in=gone, status=JobRun.Status.RUNNING).update(
            status=JobRun.Status.FAILED, message=INTERRUPTED, finished_at=now)
    return len(gone)


@contextlib.contextmanager
def tracked(kind: str, label: str, total: int | None, show: bool = True) -> Iterator[Callable[[int], None]]:
    """Yield `advance(n)`; the JobRun ends succeeded, or failed with the error's text."""
    mark_interrupted(kind)
    pid = os.getpid()
    run = JobRun.objects.create(kind=kind, label=label, total=total, host=_host(), pid=pid,
                                proc_start=_proc_start(pid), heartbeat_at=timezone.now())
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   disable=not show)
    task = bar.add_task(label, total=total)

    def advance(n: int) -> None:
        run.done += n
        JobRun.objects.filter(id=run.id).update(done=run.done, heartbeat_at=timezone.now())
        bar.advance(task, n)

    with bar:
        try:
            yield advance
        except BaseException as exc:
            JobRun.objects.filter(id=run.id).update(status=JobRun.Status.FAILED, message=str(exc)[:2000],
                                                     finished_at=timezone.now())
            raise
    JobRun.objects.filter(id=run.id).update(status=JobRun.Status.SUCCEEDED, finished_at=timezone.now())
