"""Every measurement on one database, in one process: `python -m bench.suite --db sqlite --url … --out …`.

Run by `python -m bench` (bench/__main__.py), once per database, because Django reads
its settings once per process. Writes its figures as JSON to --out.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.common import Figure, ensure_platform_accounts, make_shops, run_for, setup_django


def _rate(x: float) -> str:
    return f"{x:,.0f}/s"


class Steps:
    """A progress bar over the phases, plus one log line per measured round."""

    def __init__(self, console: Console, db: str, total: int) -> None:
        self.db = db
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, refresh_per_second=2)
        self.task = self.progress.add_task(f"{db}: starting", total=total)

    def __enter__(self) -> Steps:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def step(self, description: str) -> None:
        self.progress.update(self.task, description=f"{self.db}: {description}")

    def done(self) -> None:
        self.progress.advance(self.task)

    def log(self, text: str) -> None:
        self.progress.console.log(f"[cyan]{self.db}[/] {text}")


def interleave(writers: dict[str, Callable[[], None]], rounds: int, seconds: float, warmup: float,
               say: Callable[[str], None]) -> dict[str, Figure]:
    """Alternate the writers round by round (rotating who goes first) so drift hits all alike."""
    names = list(writers)
    for name in names:
        run_for(warmup, writers[name])
    figs = {n: Figure() for n in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            figs[name].add(*run_for(seconds, writers[name]))
        say(f"round {r + 1}/{rounds}: " + " · ".join(f"{n} {_rate(figs[n].rounds[-1])}" for n in names))
    return figs


def db_facts(vendor: str) -> dict[str, Any]:
    """The settings that decide what a commit costs, read back from the live connection."""
    from django.db import connection

    facts: dict[str, Any] = {}
    with connection.cursor() as cur:
        if vendor == "sqlite":
            import sqlite3

            facts["version"] = sqlite3.sqlite_version
            for pragma in ("journal_mode", "synchronous"):
                cur.execute(f"PRAGMA {pragma}")
                facts[pragma] = cur.fetchone()[0]
            facts["synchronous"] = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(facts["synchronous"])
        else:
            for name in ("server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_sync_method",
                         "shared_buffers", "commit_delay"):
                cur.execute(f"SHOW {name}")
                facts[name] = cur.fetchone()[0]
    return facts


def postmaster_pid() -> int | None:
    """The PostgreSQL server's main process (the parent of this connection's backend), when local."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        backend = cur.fetchone()[0]
    try:
        return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def http_figure(windows: list[Any], expect: int) -> dict[str, Any]:
    """One HTTP figure over its windows: the rate per window, latency pooled over all windows,
    failures, and the CPU milliseconds per counted answer spent by client, server and database."""
    from bench.api_load import pooled_percentile

    fig = Figure()
    failures: dict[str, int] = {}
    cpu = {"client": 0.0, "server": 0.0, "database": 0.0}
    for w in windows:
        fig.add(w.done, w.seconds)
        for k, v in w.failures(expect).items():
            failures[k] = failures.get(k, 0) + v
        for k in cpu:
            cpu[k] += w.cpu.get(k, 0.0)
    fig.extra = {
        "p50_ms": pooled_percentile(windows, 50), "p99_ms": pooled_percentile(windows, 99),
        "errors": failures,
        "cpu_ms_per_answer": {k: 1000 * v / fig.count if fig.count else None for k, v in cpu.items()},
        "windows": [{"done": w.done, "seconds": w.seconds, "statuses": w.statuses, "errors": w.errors,
                     "p50_ms": w.p50_ms, "p99_ms": w.p99_ms, "cpu_s": w.cpu} for w in windows],
    }
    return fig.as_dict()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--online-seconds", type=float, default=1.0, help="per writer per round")
    ap.add_argument("--rounds", type=int, default=5, help="online rounds")
    ap.add_argument("--bulk", type=int, default=50_000, help="payments per bulk measure, over --bulk-rounds")
    ap.add_argument("--bulk-rounds", type=int, default=4)
    ap.add_argument("--writer-seconds", type=float, default=3.0, help="per round")
    ap.add_argument("--writer-pairs", type=int, default=3, help="rounds of 1 then 4 writers")
    ap.add_argument("--http-seconds", type=float, default=5.0, help="per window (whole seconds: wrk's -d)")
    ap.add_argument("--http-windows", type=int, default=4, help="pairs of windows: sale and no-op")
    ap.add_argument("--phases", default="online,bulk,writers,http")
    args = ap.parse_args()

    setup_django(args.url)
    from django.core.management import call_command
    from django.db import connection

    from bench import api_load, bulk, online
    from bench.plain import CEILING_PREFIX, PlainWriter, sale_amounts
    from daozhang.ledger.selectors import check_ledger

    pg = args.db == "postgres"
    phases = set(args.phases.split(","))
    if not pg:
        phases.discard("writers")  # the brief's concurrency figure is PostgreSQL's; SQLite has one writer
    console = Console()
    rng = random.Random(20261122)
    tag = uuid.uuid4().hex[:8]
    out: dict[str, Any] = {"db": args.db, "params": vars(args) | {"url": args.url.split("@")[-1]}}
    timings: dict[str, float] = {}
    total_steps = 2 + len(phases & {"online", "bulk", "writers", "http"})

    with Steps(console, args.db, total_steps) as st:
        t = time.perf_counter()
        st.step("migrate")
        call_command("migrate", interactive=False, verbosity=0)
        shops = make_shops(4)
        ensure_platform_accounts(shops)
        out["facts"] = db_facts(connection.vendor)
        st.log("database: " + ", ".join(f"{k}={v}" for k, v in out["facts"].items()))
        timings["setup"] = time.perf_counter() - t
        st.done()
        plain_target = args.url if pg else connection.settings_dict["NAME"]

        if "online" in phases:
            t = time.perf_counter()
            st.step("online path (one payment per transaction)")
            writer = PlainWriter(connection.vendor, str(plain_target), [s.merchant_id for s in shops])
            writers = {"ours": online.ours(shops, rng, tag), "ceiling": online.ceiling(writer, rng)}
            if pg:
                writers["hordak"] = online.hordak(shops, rng)
            figs = interleave(writers, args.rounds, args.online_seconds, min(0.5, args.online_seconds), st.log)
            writer.close()
            out["online"] = {k: f.as_dict() for k, f in figs.items()}
            timings["online"] = time.perf_counter() - t
            st.done()

        if "bulk" in phases:
            t = time.perf_counter()
            st.step("bulk path (1,000 payments per transaction)")
            bshops = make_shops(8)
            # Same page cache for the ceiling as import_sales gives itself on SQLite: the ratio
            # then compares code, not connection settings.
            cache = getattr(import_module("daozhang.payments.bulk"), "_SQLITE_IMPORT_CACHE_KIB", 0)
            writer = PlainWriter(connection.vendor, str(plain_target), [s.merchant_id for s in bshops], cache)
            per_round = max(args.bulk // args.bulk_rounds, bulk.BATCH)
            warm_rows = bulk.imported_sales(bshops, 2 * bulk.BATCH, rng, f"{tag}-warm")
            bulk.ours(warm_rows)
            bulk.ceiling(writer, sale_amounts(2 * bulk.BATCH, rng))
            figs = {"ours": Figure(), "ceiling": Figure()}
            for r in range(args.bulk_rounds):
                rows = bulk.imported_sales(bshops, per_round, rng, f"{tag}-{r}")
                sales = sale_amounts(per_round, rng)
                jobs = [("ours", lambda rows=rows: bulk.ours(rows)),
                        ("ceiling", lambda sales=sales: bulk.ceiling(writer, sales))]
                for name, job in (jobs if r % 2 == 0 else jobs[::-1]):
                    t0 = time.perf_counter()
                    n = job()
                    figs[name].add(n, time.perf_counter() - t0)
                st.log(f"bulk round {r + 1}/{args.bulk_rounds} ({per_round:,} each): "
                       f"ours {_rate(figs['ours'].rounds[-1])} · "
                       f"ceiling {_rate(figs['ceiling'].rounds[-1])}")
            writer.close()
            out["bulk"] = {k: f.as_dict() for k, f in figs.items()}
            timings["bulk"] = time.perf_counter() - t
            st.done()

        if "writers" in phases:
            from bench.concurrency import WriterPool

            t = time.perf_counter()
            st.step("concurrent writers (processes)")
            wshops = make_shops(8)
            pool = WriterPool(args.url, [wshops[i::4] for i in range(4)])
            figs = {"1": Figure(), "4": Figure()}
            try:
                for k in (1, 4) * args.writer_pairs:
                    figs[str(k)].add(*pool.round(k, args.writer_seconds))
                    st.log(f"{k} writer{'s' if k > 1 else ''}: {_rate(figs[str(k)].rounds[-1])}")
            finally:
                pool.close()
            out["writers"] = {k: f.as_dict() for k, f in figs.items()}
            timings["writers"] = time.perf_counter() - t
            st.done()

        if "http" in phases:
            t = time.perf_counter()
            st.step(f"HTTP API (daozhang serve, wrk, {api_load.CLIENTS} connections)")
            api_load.wrk_path()  # stops here, before any server starts, when wrk is missing
            hshops = make_shops(api_load.CLIENTS)
            db_pid = postmaster_pid() if pg else None
            connection.close()  # the server's processes write from here on
            server = api_load.Server(args.url, Path(args.workdir))
            windows: dict[str, list[api_load.Window]] = {"ours": [], "noop": []}
            try:
                load = api_load.Load(server, hshops, tag, Path(args.workdir), db_pid)
                for what in (api_load.SALE, api_load.NOOP):  # warm-up: every gunicorn thread, both routes
                    load.run(what, 1)
                for w in range(args.http_windows):
                    pair = (api_load.SALE, api_load.NOOP) if w % 2 == 0 else (api_load.NOOP, api_load.SALE)
                    for what in pair:
                        win = load.run(what, args.http_seconds)
                        windows["ours" if what is api_load.SALE else "noop"].append(win)
                    sale_w, noop_w = windows["ours"][-1], windows["noop"][-1]
                    bad = {k: v for k, v in ((n, x.failures(e)) for n, x, e in
                                             (("sale", sale_w, 201), ("no-op", noop_w, 200))) if v}
                    st.log(f"HTTP window {w + 1}/{args.http_windows}: sale {_rate(sale_w.rate)} "
                           f"(p50 {sale_w.p50_ms:.0f} ms, p99 {sale_w.p99_ms:.0f} ms) · no-op {_rate(noop_w.rate)} "
                           f"(p50 {noop_w.p50_ms:.0f} ms, p99 {noop_w.p99_ms:.0f} ms)"
                           + (f" · failed: {bad}" if bad else ""))
            finally:
                server.stop()
            out["http"] = {k: http_figure(ws, 201 if k == "ours" else 200) for k, ws in windows.items()}
            out["http"]["setup"] = {"server": "daozhang serve (gunicorn gthread, 2 workers x 8 threads)",
                                    "client": f"wrk, {api_load.CLIENTS} connections, 1 thread each",
                                    "window_seconds": args.http_seconds}
            timings["http"] = time.perf_counter() - t
            st.done()

        st.step("ledger check")
        res = check_ledger()
        wrong = [w for w in res.wrong_balances if not w[0].startswith(CEILING_PREFIX)]
        out["ledger_check"] = {"entries": res.entries, "postings": res.postings, "accounts": res.accounts,
                               "unbalanced_entries": len(res.unbalanced_entries), "wrong_balances": len(wrong),
                               "ok": not res.unbalanced_entries and not wrong}
        st.log(f"ledger check: {res.entries:,} entries, {res.postings:,} postings, "
               f"{'OK' if out['ledger_check']['ok'] else 'FAILED'}")
        st.done()
    out["timings"] = timings
    Path(args.out).write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
