"""The merchant portal's payments pages on a million payments: `python -m bench.portal`.

Per database (SQLite: a fresh file with the product's settings; PostgreSQL: a throw-away
durable server), in a child process (Django reads its settings once per process):

1. migrates, makes five merchants through the real services (`bench.common.make_shops`:
   onboarding, a bound active terminal), a portal login for the first one
   (`merchants.create_merchant_user`), and loads --rows payments for that merchant plus a
   quarter as many for the four others, interleaved in time (the table is shared), with
   the driver (`executemany` on SQLite, `COPY` on PostgreSQL): created_at spread over the
   last 90 days in time order with UUIDv7 ids (as the product writes them), mixed
   channels and statuses, random last4 on card rows; then ANALYZE (VACUUM ANALYZE on
   PostgreSQL, as autovacuum would have left an old table). This bench measures reads,
   not booking.
2. measures, interleaved round by round, the latency of:
   - **page**: the page itself through Django's test `Client`, logged in as the merchant
     (`force_login`): middleware, session, the view's query, the template;
   - **product SQL**: the exact SQL and parameters `selectors.page` handed the driver for
     that page (captured once), re-run through the driver with the parameters bound as
     Django binds them (SQLite plans this query differently with literals): the query's
     own cost, without ORM and template;
   - **floor**: the same rows fetched by plain SQL through the driver, written the way
     the planners can use the (merchant, created_at) index for: the product's keyset
     condition plus the bound `created_at <= :at`; for the date filter, created_at bounded
     by the business days' local midnights as well (the business date is the
     Asia/Shanghai date of created_at);
   - at the deep position, **OFFSET**: `LIMIT 50 OFFSET 900000`, what a paginator with
     page numbers would run (before its COUNT(*)).
   The pages: page 1 (also with the session not written back, to see what
   SESSION_SAVE_EVERY_REQUEST costs); page 2; a deep page (the cursor built, as
   `selectors.page` encodes it, from the (created_at, id) of the row 90 % of the way in);
   page 1 filtered by last4; page 1
   filtered by a 7-day business-date range two months back plus status=approved; the
   payment detail page (row fetch, then its trace).
3. prints the query plans (EXPLAIN (ANALYZE, BUFFERS) / EXPLAIN QUERY PLAN) of the deep
   page's product, floor and OFFSET queries, and of any page whose query is over 3× its
   floor, and per database a table of median / p95 and ratios; the parent writes everything to
   bench/results/portal-<timestamp>.json.

It asserts nothing about speed. It fails only when a page does not answer 200 or a
page's rows differ from the floor's (a fast wrong answer is not a result).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.common import Shop, make_shops, setup_django

RESULTS = Path(__file__).resolve().parent / "results"
PAGE = 50  # daozhang.portal.views.payments.PAGE_SIZE
SPAN = dt.timedelta(days=90)
SHANGHAI = dt.timedelta(hours=8)  # Asia/Shanghai has no daylight saving time
OTHERS = 4  # merchants sharing the table with the big one, a quarter of its rows between them
STATUSES = ((0.90, "approved", "00"), (0.96, "declined", "51"), (0.97, "failed", "96"), (0.975, "unknown", ""),
            (0.99, "voided", "00"), (1.0, "reversed", "00"))
USERNAME = "bench-portal-owner"


# ---------------------------------------------------------------------------------------------
# data


def _payments(big: Shop, others: list[Shop], rows: int, end: dt.datetime, seed: int) -> Iterator[dict[str, Any]]:
    """`rows` payments of `big` and rows/4 of `others`, in time order over SPAN up to `end` (UTC)."""
    from uuid_utils.compat import uuid7

    rng = random.Random(seed)
    total = rows + rows // 4
    start = end - SPAN
    step_us = SPAN / dt.timedelta(microseconds=1) / total
    for g in range(total):
        shop = others[(g // 5) % len(others)] if g % 5 == 4 else big
        at = start + dt.timedelta(microseconds=int((g + rng.random() * 0.5) * step_us))
        at = at.replace(microsecond=at.microsecond or 1)  # SQLite text drops '.000000': keep one format
        day = (at + SHANGHAI).date()
        rc = rng.random()
        if rc < 0.5:
            channel, card_type = "card", "debit" if rc < 0.3 else "credit"
            mode = "chip" if rc < 0.25 else "contactless" if rc < 0.45 else "swipe"
            last4 = f"{rng.randrange(10_000):04d}"
            masked = ("622202" if card_type == "debit" else "625807") + "******" + last4
        else:
            channel, card_type, mode, last4, masked = ("wechat" if rc < 0.8 else "alipay"), "", "qr", "", ""
        rs = rng.random()
        status, code = next((s, c) for p, s, c in STATUSES if rs < p)
        amount = rng.randint(1_000, 200_000)
        booked = status in ("approved", "voided", "reversed")
        yield {
            "id": uuid7(nanoseconds=int(at.timestamp() * 1e9)), "merchant_id": shop.merchant_id,
            "terminal_id": shop.terminal_pk, "idempotency_key": f"bench-portal-{g}", "channel": channel,
            "entry_mode": mode, "card_type": card_type, "amount": amount,
            "fee": (amount * 3800 + 500_000) // 1_000_000 if booked else 0, "fee_rule": "bench", "currency": "CNY",
            "status": status, "response_code": code, "response_message": "", "stan": f"{g % 1_000_000:06d}",
            "rrn": f"{g:012d}", "auth_code": "123456" if booked else "", "channel_txn_id": "",
            "masked_pan": masked, "last4": last4, "pan_token": "", "business_date": day, "created_at": at,
            "updated_at": at, "voided_at": at if status == "voided" else None,
            "reversed_at": at if status == "reversed" else None, "settlement_date": day if booked else None,
            "undo_settlement_date": day if status in ("voided", "reversed") else None,
        }


def _sqlite_value(v: Any) -> Any:
    """What Django's SQLite backend stores: uuid hex, naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff', ISO dates."""
    if isinstance(v, uuid.UUID):
        return v.hex
    if isinstance(v, dt.datetime):
        return str(v.astimezone(dt.UTC).replace(tzinfo=None))
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def load(driver: Any, vendor: str, big: Shop, others: list[Shop], rows: int, end: dt.datetime) -> int:
    from daozhang.payments.models import Payment

    cols = [f.column for f in Payment._meta.concrete_fields]
    data = _payments(big, others, rows, end, seed=20261128)
    n = 0
    if vendor == "sqlite":
        sql = f"INSERT INTO payments_payment ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        driver.execute("BEGIN")
        chunk: list[tuple[Any, ...]] = []
        for row in data:
            chunk.append(tuple(_sqlite_value(row[c]) for c in cols))
            if len(chunk) == 50_000:
                driver.executemany(sql, chunk)
                n += len(chunk)
                chunk = []
        driver.executemany(sql, chunk)
        n += len(chunk)
        driver.execute("COMMIT")
        driver.execute("ANALYZE")
    else:
        with driver.transaction(), driver.cursor() as cur, \
                cur.copy(f"COPY payments_payment ({', '.join(cols)}) FROM STDIN") as cp:
            for row in data:
                cp.write_row([row[c] for c in cols])
                n += 1
        driver.execute("VACUUM ANALYZE payments_payment")
    return n


# ---------------------------------------------------------------------------------------------
# measuring


def cursor_for(created_at: dt.datetime, pid: uuid.UUID) -> str:
    """The keyset cursor of a payment, as the pager (`daozhang.core.pages`) makes it."""
    from daozhang.core.pages import cursor_for as product_cursor

    return product_cursor(created_at, pid)


def summary(ms: list[float]) -> dict[str, Any]:
    s = sorted(ms)
    return {"n": len(s), "median_ms": statistics.median(s), "p95_ms": s[max(0, math.ceil(0.95 * len(s)) - 1)],
            "min_ms": s[0], "max_ms": s[-1], "samples_ms": [round(x, 4) for x in ms]}


def interleaved(variants: dict[str, Callable[[], object]], reps: dict[str, int], budget_s: float,
                warmup: int = 2) -> dict[str, dict[str, Any]]:
    """Round by round, each variant once (drift hits all alike); a variant stops at its reps or,
    after at least 5 samples, when its time budget is spent (the slow OFFSET query)."""
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {k: [] for k in variants}
    spent = dict.fromkeys(variants, 0.0)
    clock = time.perf_counter
    for _ in range(max(reps.values())):
        for k, fn in variants.items():
            if len(samples[k]) >= reps[k] or (spent[k] > budget_s and len(samples[k]) >= 5):
                continue
            t0 = clock()
            fn()
            took = clock() - t0
            spent[k] += took
            samples[k].append(took * 1000)
    return {k: summary(v) for k, v in samples.items()}


class Driver:
    """Plain SQL through the driver itself (sqlite3 / psycopg 3), on its own connection, bound as
    Django binds: `?` parameters on SQLite, client-side binding (psycopg's ClientCursor) on PostgreSQL."""

    def __init__(self, vendor: str, target: str) -> None:
        import psycopg

        self.vendor = vendor
        # Autocommit, as Django's connection reads: no transaction around a page's query.
        self.conn: Any = (sqlite3.connect(target, isolation_level=None) if vendor == "sqlite"
                          else psycopg.connect(target, autocommit=True, cursor_factory=psycopg.ClientCursor))

    def rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        if self.vendor == "sqlite":
            sql = sql.replace("%s", "?")
            params = tuple(_sqlite_value(v) for v in params)
        cur = self.conn.execute(sql, params) if params else self.conn.execute(sql)
        return list(cur.fetchall())

    def explain(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> str:
        prefix = "EXPLAIN QUERY PLAN " if self.vendor == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
        rows = self.rows(prefix + sql, params)
        if self.vendor == "sqlite":
            return "\n".join(f"{r[0]:>3} {r[1]:>3}  {r[3]}" for r in rows)
        return "\n".join(r[0] for r in rows)


_SELECT = "SELECT p.*, t.* FROM payments_payment p INNER JOIN terminals_terminal t ON t.id = p.terminal_id"
_NEWEST = " ORDER BY p.created_at DESC, p.id DESC LIMIT %s"
# The product's keyset condition plus the bound `created_at <= :at`, which both planners turn
# into one index range (without it SQLite reads and sorts every older row, PostgreSQL filters
# every newer one): what `selectors.page` sends with `.filter(created_at__lte=at)` added.
_AFTER = " AND p.created_at <= %s AND (p.created_at < %s OR (p.created_at = %s AND p.id < %s))"


def _sent(connection: Any, fn: Callable[[], Any]) -> tuple[Any, list[tuple[str, Any]]]:
    """fn's result, and the SQL and parameters Django handed the driver meanwhile (exactly those)."""
    sent: list[tuple[str, Any]] = []

    def grab(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(grab):
        result = fn()
    return result, sent


def _without_session_save(fn: Callable[[], object]) -> Callable[[], object]:
    """The same request with SESSION_SAVE_EVERY_REQUEST off (the product has it on: sliding expiry)."""
    from django.test import override_settings

    def get() -> object:
        with override_settings(SESSION_SAVE_EVERY_REQUEST=False):
            return fn()
    return get


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC) - SHANGHAI


def measure(db: str, url: str, rows: int, quick: bool, say: Callable[[str], None]) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from daozhang.merchants import services as merchants
    from daozhang.merchants.models import Merchant
    from daozhang.payments import selectors
    from daozhang.payments.models import Payment

    t0 = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    shops = make_shops(1 + OTHERS)
    big, others = shops[0], shops[1:]
    merchants.create_merchant_user(merchant_id=big.merchant_id, username=USERNAME,
                                   password="bench-portal-pw-2026", role="owner", actor="bench")
    target = url if connection.vendor == "postgresql" else str(connection.settings_dict["NAME"])
    driver = Driver(connection.vendor, target)
    end = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    loaded = load(driver.conn, connection.vendor, big, others, rows, end)
    setup_s = time.perf_counter() - t0
    say(f"{loaded:,} payments loaded ({rows:,} for the portal's merchant) in {setup_s:.0f} s")

    merchant = Merchant.objects.get(id=big.merchant_id)
    mine = Payment.objects.filter(merchant=merchant).order_by("-created_at", "-id")
    deep = int(rows * 0.9)
    at2, pid2 = mine.values_list("created_at", "id")[PAGE - 1]  # last row of page 1
    at, pid = mine.values_list("created_at", "id")[deep - 1]  # last row of the page before the deep one
    last4 = mine.exclude(last4="").values_list("last4", flat=True)[0]
    today = (end + SHANGHAI).date()
    date_from, date_to = today - dt.timedelta(days=63), today - dt.timedelta(days=57)
    detail = mine.filter(status="approved")[rows // 2]

    client = Client(HTTP_ACCEPT_LANGUAGE="en", SERVER_NAME="127.0.0.1")  # an allowed host, as in production
    client.force_login(get_user_model().objects.get(username=USERNAME))
    m = big.merchant_id
    # (name, query string, PaymentFilter kwargs, cursor, floor SQL, floor params)
    cases: list[tuple[str, dict[str, str], dict[str, Any], str | None, str, tuple[Any, ...]]] = [
        ("page 1", {}, {}, None, _SELECT + " WHERE p.merchant_id = %s" + _NEWEST, (m, PAGE + 1)),
        ("page 2", {"cursor": cursor_for(at2, pid2)}, {}, cursor_for(at2, pid2),
         _SELECT + " WHERE p.merchant_id = %s" + _AFTER + _NEWEST, (m, at2, at2, at2, pid2, PAGE + 1)),
        (f"deep page (row {deep:,})", {"cursor": cursor_for(at, pid)}, {}, cursor_for(at, pid),
         _SELECT + " WHERE p.merchant_id = %s" + _AFTER + _NEWEST, (m, at, at, at, pid, PAGE + 1)),
        (f"last4 = {last4}", {"last4": last4}, {"last4": last4}, None,
         _SELECT + " WHERE p.merchant_id = %s AND p.last4 = %s" + _NEWEST, (m, last4, PAGE + 1)),
        # The floor also bounds created_at by the business days' local midnights: the business
        # date is the Asia/Shanghai date of created_at (clock.business_date, payments/bulk.py).
        (f"{date_from}…{date_to} approved",
         {"date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "status": "approved"},
         {"date_from": date_from, "date_to": date_to, "status": "approved"}, None,
         _SELECT + " WHERE p.merchant_id = %s AND p.business_date >= %s AND p.business_date <= %s"
         " AND p.status = %s AND p.created_at >= %s AND p.created_at < %s" + _NEWEST,
         (m, date_from, date_to, "approved", _local_midnight(date_from),
          _local_midnight(date_to + dt.timedelta(days=1)), PAGE + 1)),
    ]
    reps = 20 if quick else 100
    budget = 5.0 if quick else 20.0
    out: dict[str, Any] = {"db": db, "rows": rows, "rows_in_table": loaded, "deep_position": deep,
                           "setup_s": setup_s, "cases": {}}

    def page_fn(path: str, qs: dict[str, str]) -> Callable[[], object]:
        def get() -> object:
            resp = client.get(path, qs)
            if resp.status_code != 200:
                raise SystemExit(f"{path} {qs}: HTTP {resp.status_code}")
            return resp
        return get

    def page_queries(fn: Callable[[], object]) -> tuple[object, int]:
        fn()
        reset_queries()  # a request starts by clearing the query log; count from an empty one
        with CaptureQueriesContext(connection) as ctx:
            resp = fn()
        return resp, len(ctx.captured_queries)

    for name, qs, fkw, cur, floor_sql, floor_params in cases:
        listed = selectors.payments_for(merchant, selectors.PaymentFilter(**fkw))
        got_page, sent = _sent(connection, lambda q=listed, c=cur: selectors.page(q, c, PAGE))
        got = got_page.rows
        product_sql, product_params = next((q, p) for q, p in sent if "payments_payment" in q)
        floor_ids = [str(uuid.UUID(str(r[0]))) for r in driver.rows(floor_sql, floor_params)][:PAGE]
        product_ids = [str(uuid.UUID(str(r[0]))) for r in driver.rows(product_sql, product_params)][:PAGE]
        if [str(p.id) for p in got] != floor_ids or product_ids != floor_ids:
            raise SystemExit(f"{db} {name}: the page's rows differ from the floor's")
        resp, queries = page_queries(page_fn("/portal/payments/", qs))
        if floor_ids and floor_ids[0].encode() not in resp.content:  # type: ignore[attr-defined]
            raise SystemExit(f"{db} {name}: the page does not show the newest row")
        variants: dict[str, Callable[[], object]] = {
            "page": page_fn("/portal/payments/", qs),
            "product_sql": lambda s=product_sql, p=product_params: driver.rows(s, p),
            "floor": lambda s=floor_sql, p=floor_params: driver.rows(s, p),
        }
        extra_queries = {}
        if cur is None and not qs:  # page 1: what the session write on every request costs
            variants["page_no_session_save"] = _without_session_save(variants["page"])
            extra_queries["queries_no_session_save"] = page_queries(variants["page_no_session_save"])[1]
        n = dict.fromkeys(variants, reps)
        plans = {"product": driver.explain(product_sql, product_params),
                 "floor": driver.explain(floor_sql, floor_params)}
        if name.startswith("deep"):
            offset_sql = _SELECT + " WHERE p.merchant_id = %s" + _NEWEST + " OFFSET %s"
            variants["offset"] = lambda s=offset_sql: driver.rows(s, (m, PAGE, deep))
            n["offset"] = 5 if quick else 20
            plans["offset"] = driver.explain(offset_sql, (m, PAGE, deep))
        res: dict[str, Any] = interleaved(variants, n, budget)
        res |= extra_queries | {"queries_per_request": queries, "rows": len(floor_ids), "sql": product_sql,
                "params": [str(x) for x in product_params], "plans": plans}
        out["cases"][name] = res
        say(f"{name}: page {res['page']['median_ms']:.1f} ms (p95 {res['page']['p95_ms']:.1f}), product SQL "
            f"{res['product_sql']['median_ms']:.2f} ms, floor {res['floor']['median_ms']:.2f} ms"
            + (f", OFFSET {res['offset']['median_ms']:.1f} ms" if "offset" in res else ""))

    # The detail page: the row, then its trace; the floor is the row alone.
    path = f"/portal/payments/{detail.id}/"
    _, queries = page_queries(page_fn(path, {}))
    detail_floor = _SELECT + " WHERE p.merchant_id = %s AND p.id = %s"
    res = interleaved({"page": page_fn(path, {}), "floor": lambda: driver.rows(detail_floor, (m, detail.id))},
                      {"page": reps, "floor": reps}, budget)
    res |= {"queries_per_request": queries, "rows": 1}
    out["cases"]["payment detail"] = res
    say(f"payment detail: page {res['page']['median_ms']:.1f} ms (p95 {res['page']['p95_ms']:.1f}), "
        f"floor {res['floor']['median_ms']:.2f} ms")
    out["facts"] = _facts(driver)
    driver.conn.close()
    return out


def _facts(driver: Driver) -> dict[str, Any]:
    if driver.vendor == "sqlite":
        size = driver.rows("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")[0][0]
        return {"version": sqlite3.sqlite_version, "database_bytes": size,
                "cache_size": driver.rows("PRAGMA cache_size")[0][0]}
    return {"version": driver.rows("SHOW server_version")[0][0],
            "shared_buffers": driver.rows("SHOW shared_buffers")[0][0],
            "table_bytes": driver.rows("SELECT pg_total_relation_size('payments_payment')")[0][0]}


# ---------------------------------------------------------------------------------------------
# parent: one child per database, the report


def _child(db: str, url: str, out: str, rows: int, quick: bool) -> None:
    setup_django(url, "daozhang.settings")
    console = Console(width=None if sys.stdout.isatty() else 150)
    result = measure(db, url, rows, quick, lambda s: console.log(f"[cyan]{db}[/] {s}"))
    for name, c in result["cases"].items():
        # Always the deep page's plans; any other page's when its query is well off the floor.
        slow = "product_sql" in c and c["product_sql"]["median_ms"] > 3 * c["floor"]["median_ms"]
        for which, plan in c.get("plans", {}).items():
            if name.startswith("deep") or (slow and which != "offset"):
                console.print(f"[bold]{db} · {name} · {which} query plan[/]")
                console.print(plan, markup=False, highlight=False)
    Path(out).write_text(json.dumps(result, indent=2, default=str))


def _ms(node: dict[str, Any] | None) -> str:
    if not node:
        return "—"
    return f"{node['median_ms']:,.2f} / {node['p95_ms']:,.2f}"


def report(console: Console, results: dict[str, Any]) -> None:
    for db, r in results.items():
        t = Table(title=f"{'SQLite' if db == 'sqlite' else 'PostgreSQL'}: {r['rows']:,} payments of one merchant "
                        f"({r['rows_in_table']:,} in the table); ms, median / p95", title_justify="left")
        for col, just in (("page", "left"), ("page (Client)", "right"), ("product SQL", "right"),
                          ("floor SQL", "right"), ("page ÷ floor", "right"), ("product SQL ÷ floor", "right"),
                          ("OFFSET", "right"), ("queries", "right")):
            t.add_column(col, justify=just)  # type: ignore[arg-type]
        for name, c in r["cases"].items():
            floor = c["floor"]["median_ms"]
            prod = c.get("product_sql")
            t.add_row(name, _ms(c["page"]), _ms(prod), _ms(c["floor"]), f"{c['page']['median_ms'] / floor:,.0f} ×",
                      f"{prod['median_ms'] / floor:,.1f} ×" if prod else "—",
                      _ms(c.get("offset")), str(c["queries_per_request"]))
            if "page_no_session_save" in c:
                alt = c["page_no_session_save"]
                t.add_row("  same, session not saved", _ms(alt), "", "", f"{alt['median_ms'] / floor:,.0f} ×", "",
                          "", str(c["queries_no_session_save"]))
        console.print(t)
    console.print("[dim]page: GET through django.test.Client, logged in (middleware, session, view, template). "
                  "product SQL: the SQL and parameters selectors.page sent, re-run through the driver. floor: the "
                  "same rows by plain SQL through the driver, with the created_at bound the planners need "
                  "(created_at <= cursor; the date filter also as a created_at range). OFFSET: LIMIT 50 OFFSET "
                  "<deep>, what numbered pages would run. queries: SQL statements per page request.[/]")


def main() -> None:
    from bench.__main__ import machine
    from daozhang.testing import pgserver

    ap = argparse.ArgumentParser(prog="python -m bench.portal")
    ap.add_argument("--db", choices=["both", "sqlite", "postgres"], default="both")
    ap.add_argument("--rows", type=int, default=None, help="payments of the portal's merchant (default 1,000,000; "
                                                           "100,000 with --quick)")
    ap.add_argument("--quick", action="store_true", help="fewer rows and repetitions, to try the bench itself")
    ap.add_argument("--child", nargs=3, metavar=("DB", "URL", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    if args.child:
        _child(*args.child, rows, args.quick)
        return
    console = Console(width=None if sys.stdout.isatty() else 150)
    info = machine()
    console.rule("[bold]daozhang bench: portal payments pages")
    console.print(", ".join(f"{k}: {v}" for k, v in info.items()))
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="daozhang-portal-bench-"))
    server = pgserver.start(durable=True) if args.db in ("both", "postgres") else None
    results: dict[str, Any] = {}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(Path.cwd()), os.environ.get("PYTHONPATH")])))
    try:
        targets = []
        if args.db in ("both", "sqlite"):
            targets.append(("sqlite", f"sqlite:///{work / 'portal.sqlite3'}"))
        if server is not None:
            targets.append(("postgres", server.url))
        for db, url in targets:
            out = work / f"{db}.json"
            subprocess.run([sys.executable, "-m", "bench.portal", "--rows", str(rows), *(["--quick"] * args.quick),
                            "--child", db, url, str(out)], check=True, env=env)
            results[db] = json.loads(out.read_text())
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    report(console, results)
    elapsed = time.perf_counter() - started
    end_load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    console.print(f"whole run: {elapsed:.0f} s; load average at start {info['loadavg_at_start']}, at end {end_load}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"portal-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"when": dt.datetime.now().astimezone().isoformat(), "quick": args.quick,
                                "rows": rows, "machine": info, "results": results, "elapsed_seconds": elapsed,
                                "loadavg_at_end": end_load}, indent=2, default=str))
    console.print(f"results: {path}")


if __name__ == "__main__":
    main()
