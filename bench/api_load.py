"""Sales and no-ops through the HTTP API, against `daozhang serve` started as a subprocess.

The server runs exactly as an operator starts it (`daozhang serve`: gunicorn, gthread,
its default 2 processes x 8 threads, access log on), with the product's own settings,
on a free loopback port.

The load comes from **wrk** (Debian's `wrk` 4.1, `make bench` installs it when missing), a
separate process, driven by `bench/http_post.lua`: N connections, one wrk thread and one
merchant each (its API key, its terminal), every request a fresh `Idempotency-Key` and a
sale body, sent again as soon as the answer is back (a closed loop: N requests in flight).
Why wrk and not Python: the machine has two cores, which the server (two gunicorn
processes) and the database already want, so whatever the client spends is taken from
what it measures. wrk's event loop is C and LuaJIT builds the bodies: measured here, 0.07–0.2
ms of CPU per request (reported per run as `client` CPU), against 0.3–0.5 ms for the former
client (8 threads with http.client in the bench process, sharing one GIL with the
orchestration) and 4–7 ms for the server's side of a sale. wrk also takes each request's
latency itself (its histogram: from the request written to the answer read, every answer).
A small asyncio client in its own process would be the fallback without wrk; in Python it
would cost about what the former client did.

Two figures in the same run, same clients, same bodies: POST `/api/v1/payments/sale`
(only 201 answers count) and POST `/api/v1/ping` (the authenticated no-op: same auth, body
parsing, middleware and Idempotency-Key check, no database write; only 200 counts), in
interleaved windows (sale then no-op, then no-op then sale, …) so a drift of the shared
machine hits both. Per window it also reads the CPU seconds spent by the client (wrk), the
server (gunicorn's processes) and PostgreSQL (the postmaster's process tree) from /proc,
to say where the time goes.
"""

from __future__ import annotations

import bisect
import contextlib
import http.client
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import CREDIT_CARD, DEBIT_CARD, Shop

CLIENTS = 8
SCRIPT = Path(__file__).resolve().parent / "http_post.lua"
SALE = ("sale", "/api/v1/payments/sale", 201)
NOOP = ("noop", "/api/v1/ping", 200)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) used so far by a process and its live descendants."""
    if pid is None:
        return 0.0
    ticks, todo = 0, [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(stat[11]) + int(stat[12])  # utime, stime
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return ticks / os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(self, url: str, workdir: Path) -> None:
        self.port = _free_port()
        env = dict(os.environ)
        env.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="daozhang.settings", DAOZHANG_LOG_LEVEL="WARNING",
                   DAOZHANG_VAR_DIR=str(workdir))
        exe = Path(sys.executable).with_name("daozhang")
        cmd = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.log_path = workdir / f"serve-{self.port}.log"
        self._log = self.log_path.open("wb")
        # The access log (stdout) goes to a file, as a deployment's would, not to a pipe.
        self._access = (workdir / f"access-{self.port}.log").open("wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._access, stderr=self._log)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daozhang serve exited: see {self.log_path}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    c.close()
                    return
            time.sleep(0.2)
        raise RuntimeError("daozhang serve did not answer /healthz within a minute")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # gunicorn: graceful shutdown on SIGTERM
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        self._access.close()


def wrk_path() -> str:
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit("the HTTP phase needs wrk: `make bench` installs it (apt-get install wrk)")
    return exe


@dataclass
class Window:
    """One wrk run: answers by status, wall seconds, latency quantiles, CPU seconds by side."""

    kind: str
    done: int
    seconds: float
    statuses: dict[str, int]
    errors: dict[str, int]
    p50_ms: float
    p99_ms: float
    quantiles_us: list[int]
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def failures(self, expect: int) -> dict[str, int]:
        bad = {k: v for k, v in self.statuses.items() if int(k) != expect}
        return bad | {k: v for k, v in self.errors.items() if v}


class Load:
    """wrk against one server: `run(SALE or NOOP, seconds)` is one measured window."""

    def __init__(self, server: Server, shops: Sequence[Shop], tag: str, workdir: Path,
                 db_pid: int | None, clients: int = CLIENTS) -> None:
        self.server, self.shops, self.tag, self.workdir = server, list(shops), tag, workdir
        self.db_pid, self.clients, self.wrk = db_pid, clients, wrk_path()
        self.runs = 0

    def _data_file(self, path: str, expect: int) -> Path:
        self.runs += 1
        shops = ",".join(f"{{key={json.dumps(s.api_key)},tid={json.dumps(s.terminal_id)}}}"
                         for s in self.shops[: self.clients])
        f = self.workdir / f"wrk-{self.runs}.lua"
        f.write_text(f"return {{path={json.dumps(path)},tag={json.dumps(f'{self.tag}-{self.runs}')},"
                     f"expect={expect},debit={json.dumps(DEBIT_CARD)},credit={json.dumps(CREDIT_CARD)},"
                     f"shops={{{shops}}}}}\n")
        return f

    def run(self, what: tuple[str, str, int], seconds: float) -> Window:
        kind, path, expect = what
        data = self._data_file(path, expect)
        cmd = [self.wrk, f"-t{self.clients}", f"-c{self.clients}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
               "-s", str(SCRIPT), f"http://127.0.0.1:{self.server.port}", "--", str(data)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        srv0, db0 = tree_cpu(self.server.proc.pid), tree_cpu(self.db_pid)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        srv1, db1 = tree_cpu(self.server.proc.pid), tree_cpu(self.db_pid)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        line = next((x for x in reversed(proc.stdout.splitlines()) if x.startswith("{")), None)
        if proc.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr[-2000:]}{proc.stdout[-2000:]}")
        if proc.stderr.strip():
            sys.stderr.write(proc.stderr[-1000:])
        out: dict[str, Any] = json.loads(line)
        statuses = {str(k): int(v) for k, v in out["statuses"].items()}
        client = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return Window(kind=kind, done=statuses.get(str(expect), 0), seconds=out["duration_us"] / 1e6,
                      statuses=statuses, errors=out["errors"], p50_ms=out["p50_us"] / 1000,
                      p99_ms=out["p99_us"] / 1000, quantiles_us=out["quantiles_us"],
                      cpu={"client": client, "server": srv1 - srv0, "database": db1 - db0})


def pooled_percentile(windows: Sequence[Window], p: float) -> float | None:
    """The p-th percentile (ms) of all the windows' answers together, from each window's 200
    quantiles weighted by its number of answers (0.5 % resolution)."""
    points: list[tuple[int, float]] = []
    for w in windows:
        n = sum(w.statuses.values())
        if n and w.quantiles_us:
            points.extend((q, n / len(w.quantiles_us)) for q in w.quantiles_us)
    if not points:
        return None
    points.sort()
    total = sum(wt for _, wt in points)
    acc, cum = 0.0, []
    for _, wt in points:
        acc += wt
        cum.append(acc)
    i = min(bisect.bisect_left(cum, p / 100 * total), len(points) - 1)
    return points[i][0] / 1000
