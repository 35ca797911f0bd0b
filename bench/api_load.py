"""Sales through the HTTP API, against `daozhang serve` started as a subprocess.

The server runs exactly as an operator starts it (`daozhang serve`: gunicorn, gthread,
its default 2 processes x 8 threads, access log on), with the product's own settings,
on a free loopback port. The client is 8 threads in the bench process, each with one
keep-alive connection (http.client) and its own merchant API key, posting
`/api/v1/payments/sale` with a fresh `Idempotency-Key` as fast as answers come back.
Only 201 answers count. The client shares the machine's two cores with the server.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import Shop, sale_fields

CLIENT_THREADS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=self._log)
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


class Client:
    """CLIENT_THREADS keep-alive connections, one merchant each."""

    def __init__(self, port: int, shops: Sequence[Shop], tag: str) -> None:
        self.port, self.tag = port, tag
        self.shops = [shops[i % len(shops)] for i in range(CLIENT_THREADS)]
        self.conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=120) for _ in self.shops]
        self.seq = [0] * CLIENT_THREADS
        self.rngs = [random.Random(7000 + i) for i in range(CLIENT_THREADS)]

    def _post(self, k: int, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        conn = self.conns[k]
        for attempt in (1, 2):
            try:
                conn.request("POST", "/api/v1/payments/sale", body=body, headers=headers)
                r = conn.getresponse()
                return r.status, r.read()
            except (http.client.RemoteDisconnected, ConnectionError, http.client.CannotSendRequest):
                # The server closed an idle keep-alive connection: send again on a new one,
                # with the same Idempotency-Key (a replay can never book twice).
                conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _loop(self, k: int, start: float, end: float, out: list[Any]) -> None:
        shop, rng = self.shops[k], self.rngs[k]
        headers = {"Authorization": f"Bearer {shop.api_key}", "Content-Type": "application/json",
                   "Accept-Language": "en"}
        ok, errors, lat = 0, Counter[int](), []
        while time.monotonic() < start:
            time.sleep(0.0005)
        while (t0 := time.monotonic()) < end:
            i = self.seq[k] = self.seq[k] + 1
            fields = sale_fields(i, rng)
            fields["terminal_id"] = shop.terminal_id
            headers["Idempotency-Key"] = f"bench-http:{self.tag}:{k}:{i}"
            status, data = self._post(k, json.dumps(fields).encode(), headers)
            if status == 201:
                ok += 1
                lat.append(time.monotonic() - t0)
            else:
                errors[status] += 1
                if sum(errors.values()) <= 3:
                    sys.stderr.write(f"HTTP {status}: {data[:300]!r}\n")
        out[k] = (ok, errors, lat, time.monotonic())

    def window(self, seconds: float) -> tuple[int, float, Counter[int], list[float]]:
        """All threads post for `seconds`: (201 answers, wall seconds, other statuses, latencies)."""
        start = time.monotonic() + 0.05
        end = start + seconds
        out: list[Any] = [None] * CLIENT_THREADS
        threads = [threading.Thread(target=self._loop, args=(k, start, end, out)) for k in range(CLIENT_THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok = sum(o[0] for o in out)
        errors: Counter[int] = Counter()
        lat: list[float] = []
        for o in out:
            errors.update(o[1])
            lat.extend(o[2])
        return ok, max(o[3] for o in out) - start, errors, lat

    def close(self) -> None:
        for c in self.conns:
            c.close()
