"""`make bench` = `python -m bench`: every figure on SQLite and on PostgreSQL, side by side, in one run.

1. starts a throw-away PostgreSQL 15 with fsync ON (`pgserver.start(durable=True)`: commits
   are durable, as in production) and makes a temporary directory for the SQLite file
   (WAL, synchronous=NORMAL, as daozhang/settings.py configures it);
2. runs `python -m bench.suite` for each database (Django reads its settings once per
   process), which migrates a fresh database and measures;
3. prints the figures, the ratios and PASS/MISS per target, and writes them as JSON to
   bench/results/ (gitignored).

The bench reports; it asserts nothing about speed. It exits non-zero only when a phase
failed or the ledger check after the run found an unbalanced entry or a wrong balance.

Options: --quick (short measures, for trying the bench itself), --db sqlite|postgres,
--phases online,bulk,writers,http. The HTTP phase needs wrk (`make bench` installs it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from daozhang.testing import pgserver

RESULTS = Path(__file__).resolve().parent / "results"

# (key, label, database, measure, compared with, minimum ratio)
TARGETS = [
    ("online_pg_ceiling", "online on PostgreSQL ≥ 50 % of the plain-SQL ceiling", "postgres", "online", "ceiling",
     0.50),
    ("online_pg_hordak", "online on PostgreSQL ≥ 1.5 × django-hordak", "postgres", "online", "hordak", 1.5),
    ("bulk_sqlite", "bulk on SQLite ≥ 35 % of the batch ceiling", "sqlite", "bulk", "ceiling", 0.35),
    ("bulk_pg", "bulk on PostgreSQL ≥ 35 % of the batch ceiling", "postgres", "bulk", "ceiling", 0.35),
    ("writers_pg", "4 writers ≥ 1.5 × one writer on PostgreSQL", "postgres", "writers", "1", 1.5),
    ("http_pg_noop", "HTTP POST sale on PostgreSQL ≥ 50 % of an authenticated no-op POST", "postgres", "http", "noop",
     0.50),
]
# What the brief saw on this machine kind, for comparison with the ceilings measured here.
REFERENCE = {"online_ceiling": {"postgres": 750, "sqlite": 20_000}, "bulk_ceiling": {"postgres": 14_600,
             "sqlite": 120_000}, "hordak": {"postgres": 260}}


def _load() -> str:
    """The 1/5/15-minute load average: other work on this 2-core machine moves every figure."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"nproc": os.cpu_count(), "python": platform.python_version(),
                            "kernel": platform.release(), "loadavg_at_start": _load()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["ram_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    tmp = tempfile.gettempdir()
    try:
        src = subprocess.run(["findmnt", "-n", "-o", "SOURCE,FSTYPE", "--target", tmp], capture_output=True,
                             text=True, check=False).stdout.split()
        info["disk"] = " ".join(src)
        dev = Path(src[0]).name if src else ""
        rot = Path(f"/sys/block/{dev}/queue/rotational")
        if rot.exists():
            info["disk"] += " (rotational)" if rot.read_text().strip() == "1" else " (non-rotational)"
        usage = shutil.disk_usage(tmp)
        info["disk"] += f", {usage.total / 1e9:.0f} GB, temp dir {tmp}"
    except (OSError, IndexError):
        pass
    return info


def run_suite(db: str, url: str, workdir: Path, extra: list[str]) -> dict[str, Any]:
    out = workdir / f"{db}.json"
    cmd = [sys.executable, "-m", "bench.suite", "--db", db, "--url", url, "--out", str(out),
           "--workdir", str(workdir), *extra]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(Path.cwd()), os.environ.get("PYTHONPATH")])))
    subprocess.run(cmd, check=True, env=env)
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def ratio(result: dict[str, Any], db: str, measure: str, base: str) -> float | None:
    """Median of the paired per-round ratios: ours (or 4 writers) over `base` in the same round."""
    try:
        group = result[db][measure]
        top = group["4"] if measure == "writers" else group["ours"]
        pairs = [a / b for a, b in zip(top["rounds"], group[base]["rounds"], strict=True) if b]
        return float(statistics.median(pairs)) if pairs else None
    except (KeyError, TypeError, ValueError):
        return None


def _fig(result: dict[str, Any], db: str, *path: str) -> str:
    node: Any = result.get(db, {})
    for p in path:
        if not isinstance(node, dict) or p not in node:
            return "—"
        node = node[p]
    lo, hi = node["spread"]
    return f"{node['rate']:,.0f} [dim]({lo:,.0f}–{hi:,.0f})[/]"


def _pct(x: float | None, times: bool = False) -> str:
    if x is None:
        return "—"
    return f"{x:.2f} ×" if times else f"{100 * x:.0f} %"


def _http(result: dict[str, Any], db: str, kind: str) -> dict[str, Any] | None:
    node = result.get(db, {}).get("http", {}).get(kind)
    return node if isinstance(node, dict) and "extra" in node else None


def _latency(result: dict[str, Any], db: str, kind: str) -> str:
    h = _http(result, db, kind)
    if h is None or h["extra"].get("p50_ms") is None:
        return "—"
    return f"{h['extra']['p50_ms']:.1f} / {h['extra']['p99_ms']:.1f} ms"


def _cpu(result: dict[str, Any], db: str, kind: str) -> str:
    h = _http(result, db, kind)
    cpu = h["extra"].get("cpu_ms_per_answer") if h else None
    if not cpu or cpu.get("server") is None:
        return "—"
    return " / ".join(f"{cpu[k]:.2f}" if db == "postgres" or k != "database" else "–"
                      for k in ("server", "database", "client"))


def _failed(result: dict[str, Any], db: str) -> str:
    hs = [h for h in (_http(result, db, k) for k in ("ours", "noop")) if h]
    if not hs:
        return "—"
    n = sum(sum(h["extra"].get("errors", {}).values()) for h in hs)
    return f"{n:,}" if not n else f"[red]{n:,}[/]"


def report(console: Console, result: dict[str, Any]) -> dict[str, Any]:
    t = Table(title="payments/s: median round (min–max over rounds)", title_justify="left")
    t.add_column("measure")
    t.add_column("SQLite", justify="right")
    t.add_column("PostgreSQL", justify="right")
    both = ("sqlite", "postgres")
    rows: list[tuple[str, ...]] = [
        ("[bold]online[/] sale(), 1 per tx", *(_fig(result, d, "online", "ours") for d in both)),
        ("  plain-SQL ceiling", *(_fig(result, d, "online", "ceiling") for d in both)),
        ("  django-hordak", *(_fig(result, d, "online", "hordak") for d in both)),
        ("  ours / ceiling", *(_pct(ratio(result, d, "online", "ceiling")) for d in both)),
        ("  ours / hordak", *(_pct(ratio(result, d, "online", "hordak"), True) for d in both)),
        ("[bold]bulk[/] import_sales, 1,000/tx", *(_fig(result, d, "bulk", "ours") for d in both)),
        ("  plain-SQL batch ceiling", *(_fig(result, d, "bulk", "ceiling") for d in both)),
        ("  ours / ceiling", *(_pct(ratio(result, d, "bulk", "ceiling")) for d in both)),
        ("[bold]writers[/] 1 process", *(_fig(result, d, "writers", "1") for d in both)),
        ("  4 processes", *(_fig(result, d, "writers", "4") for d in both)),
        ("  4 / 1", *(_pct(ratio(result, d, "writers", "1"), True) for d in both)),
        ("[bold]HTTP[/] POST sale, 8 connections (wrk)", *(_fig(result, d, "http", "ours") for d in both)),
        ("  latency p50 / p99", *(_latency(result, d, "ours") for d in both)),
        ("  CPU ms per sale: server / db / client", *(_cpu(result, d, "ours") for d in both)),
        ("  no-op POST /api/v1/ping, same clients", *(_fig(result, d, "http", "noop") for d in both)),
        ("  latency p50 / p99", *(_latency(result, d, "noop") for d in both)),
        ("  CPU ms per no-op: server / db / client", *(_cpu(result, d, "noop") for d in both)),
        ("  sale / no-op", *(_pct(ratio(result, d, "http", "noop")) for d in both)),
        ("  failed requests (sale + no-op)", *(_failed(result, d) for d in both)),
    ]
    for r in rows:
        t.add_row(*r)
    console.print(t)
    console.print("[dim]SQLite: WAL, synchronous=NORMAL. PostgreSQL 15: fsync on, synchronous_commit on "
                  "(durable commits). Ceilings: same tables, plain SQL via the driver.[/]")

    verdicts = {}
    tt = Table(title="targets: median of the paired per-round ratios of this run", title_justify="left")
    tt.add_column("target")
    tt.add_column("measured", justify="right")
    tt.add_column("")
    for key, label, db, measure, base, minimum in TARGETS:
        x = ratio(result, db, measure, base)
        ok = x is not None and x >= minimum
        verdicts[key] = {"label": label, "ratio": x, "minimum": minimum, "met": ok}
        shown = _pct(x, times=minimum > 1)
        tt.add_row(label, shown, "[green]PASS[/]" if ok else "[red]MISS[/]" if x is not None else "[dim]not run[/]")
    console.print(tt)
    for d in both:
        lc = result.get(d, {}).get("ledger_check")
        if lc:
            console.print(f"ledger check after the {d} run: {lc['entries']:,} entries, {lc['postings']:,} postings, "
                          + ("[green]OK[/]" if lc["ok"] else "[red]FAILED[/]"))
    return verdicts


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--quick", action="store_true", help="short measures (minutes → seconds); figures are noisy")
    ap.add_argument("--db", choices=["both", "sqlite", "postgres"], default="both")
    ap.add_argument("--phases", default="online,bulk,writers,http")
    args = ap.parse_args()
    extra = ["--phases", args.phases]
    if args.quick:
        extra += ["--online-seconds", "0.3", "--rounds", "2", "--bulk", "6000", "--bulk-rounds", "2",
                  "--writer-seconds", "1", "--writer-pairs", "1", "--http-seconds", "1", "--http-windows", "2"]
    console = Console()
    started = time.perf_counter()
    info = machine()
    console.rule("[bold]daozhang bench")
    console.print(", ".join(f"{k}: {v}" for k, v in info.items()))
    workdir = Path(tempfile.mkdtemp(prefix="daozhang-bench-"))
    result: dict[str, Any] = {}
    server = None
    failed = False
    try:
        if args.db in ("both", "postgres"):
            server = pgserver.start(durable=True)  # fsync stays on: commits are durable
        if args.db in ("both", "sqlite"):
            result["sqlite"] = run_suite("sqlite", f"sqlite:///{workdir / 'bench.sqlite3'}", workdir, extra)
        if server is not None:
            result["postgres"] = run_suite("postgres", server.url, workdir, extra)
    except subprocess.CalledProcessError as exc:
        console.print(f"[red]a benchmark phase failed: {exc}")
        failed = True
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    verdicts = report(console, result)
    elapsed = time.perf_counter() - started
    console.print(f"whole run: {elapsed:.0f} s; load average at start {info['loadavg_at_start']}, at end {_load()}")
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    doc = {"when": dt.datetime.now().astimezone().isoformat(), "quick": args.quick, "machine": info,
           "results": result, "targets": verdicts, "reference": REFERENCE, "elapsed_seconds": elapsed,
           "loadavg_at_end": _load()}
    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(json.dumps(doc, indent=2, default=str))
    (RESULTS / "latest.json").write_text(json.dumps(doc, indent=2, default=str))
    console.print(f"results: {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    ledger_ok = all(r.get("ledger_check", {}).get("ok", True) for r in result.values())
    return 1 if failed or not ledger_ok else 0


if __name__ == "__main__":
    sys.exit(main())
