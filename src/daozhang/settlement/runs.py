"""The settlement run: one batch per merchant per settlement date, computed by the database.

The merchants on the run's cycles are taken in chunks (`SETTLEMENT_CHUNK`, by id). For each
chunk, in one transaction, the database
1. sums the day for those merchants — every registered source's figures (`settlement.sources`:
   sales and their fees, undos of earlier-settled sales, risk holds and releases, manual
   adjustments, …) and the nets carried forward — and applies the settlement rule, into a
   scratch table (`settlement_work`);
2. inserts the batches and links the carried-forward batches to the new ones;
3. posts each batch's ledger entry from those rows (`ledger.services.post_entries_from`).
This process sends the chunk's merchant ids, their two account ids and the ids of the
batches and entries to be, and reads back a row per batch status: no loop over payments,
and per merchant only the ids. The unique (merchant,
settlement date) key makes a re-run — after a crash, or a second operator pressing the
button — write only what is missing; each chunk commits whole or not at all.

The rule, for the batch of merchant M on day D:
  before = Σ (each source figure × its sign) + carried in
           (today: sales − fees − undone − held + released + adjustments + carried in)
  D0 fee = min(before, before × D0_FEE_PPM / 10⁶ rounded half up + D0_FEE_FIXED_FEN) on a
           D0 merchant's positive `before`, else 0
  net    = before − D0 fee
  status = carried (no fee; net = before; recovered or paid later) when net ≤ 0 or
           net < MIN_PAYOUT_FEN; else held when the merchant is not active; else due.
"""

# Every statement below is built from constants and named placeholders only:
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from uuid_utils import uuid7

from daozhang.core import clock
from daozhang.core.alerts import raise_alert, resolve_alert
from daozhang.core.db import fresh_temp_table, rows_source, run
from daozhang.core.errors import DomainError
from daozhang.core.ids import new_id
from daozhang.core.money import PPM
from daozhang.dates.calendar import CalendarGap
from daozhang.dates.cycles import cutoff_moment, payout_date_for
from daozhang.ledger.accounts import account_columns_sql, settlement_account_ids
from daozhang.ledger.services import named_leg_columns, post_entries_from
from daozhang.merchants.models import Merchant, MerchantStatus
from daozhang.settlement.models import BatchStatus, SettlementBatch
from daozhang.settlement.sources import Figure, Tally, all_figures, all_sources
from daozhang.settlement.stamping import close_days


@dataclass
class RunResult:
    settlement_date: dt.date
    batches: int = 0
    due: int = 0
    carried: int = 0
    held: int = 0
    skipped_existing: int = 0
    total_net: int = 0


_WORK = "settlement_work"
# Per merchant of the chunk: its two account ids, and the ids its batch and entry will have
# if it has a batch (generated here, as every id is: cheaper than in SQL).
_CHUNK_COLUMNS = (("merchant_id", "uuid"), ("payable_id", "uuid"), ("due_id", "uuid"), ("fee_id", "uuid"),
                  ("batch_id", "uuid"), ("entry_id", "uuid"))
_IN_CHUNK = "merchant_id BETWEEN %(lo)s AND %(hi)s"


@dataclass(frozen=True)
class _Statements:
    """The run's SQL for the registered sources (`settlement.sources`), built once per set of sources."""

    work_columns: tuple[tuple[str, str], ...]
    rule: str
    insert_batches: str


def _statements() -> _Statements:
    sources = all_sources()
    key = tuple((s.name, id(s)) for s in sources)
    built = _BUILT.get(key)
    if built is None:
        built = _BUILT[key] = _build(all_figures(), [t for s in sources for t in s.tallies])
    return built


_BUILT: dict[tuple[tuple[str, int], ...], _Statements] = {}


def _build(figures: list[Figure], tallies: list[Tally]) -> _Statements:
    """Fold every source's tallies into one statement: each tally reads only this chunk's id
    range of its (date, merchant) index; one stream of (merchant, every figure, carried in,
    carried batches), summed per merchant: a merchant with no activity gets no batch."""
    keys = [f"f_{f.key}" for f in figures]  # prefixed: a figure may not shadow a column of the rule
    tally_columns = (*keys, "carried_in", "carried_n")
    zero = dict.fromkeys(tally_columns, "0")
    parts = []
    for t in tallies:
        sums = {**zero, **{f"f_{k}": expr for k, expr in t.sums.items()}}
        where = f" AND ({t.where})" if t.where else ""
        parts.append(f"SELECT merchant_id, {', '.join(f'{sums[c]} AS {c}' for c in tally_columns)} FROM {t.table}"
                     f" WHERE {t.date_column} = %(day)s AND {_IN_CHUNK}{where} GROUP BY merchant_id")
    carried = {**zero, "carried_in": "SUM(net)", "carried_n": "COUNT(*)"}
    parts.append(
        f"SELECT merchant_id, {', '.join(f'{carried[c]} AS {c}' for c in tally_columns)}"
        " FROM settlement_settlementbatch"
        f" WHERE status = '{BatchStatus.CARRIED.value}' AND carried_to_id IS NULL AND settlement_date < %(day)s"
        f" AND {_IN_CHUNK} GROUP BY merchant_id")
    tally = (
        # Every branch names its columns (Citus's planner fails on a column list over UNION ALL).
        f"WITH x AS ({' UNION ALL '.join(parts)}),"
        # bigint, not PostgreSQL's numeric SUM: the rule's divisions below are integer divisions.
        f" t AS (SELECT merchant_id, {', '.join(f'CAST(SUM({c}) AS bigint) AS {c}' for c in tally_columns)} FROM x"
        " GROUP BY merchant_id)"
        " SELECT k.merchant_id, k.payable_id, k.due_id, k.fee_id, k.batch_id, k.entry_id, m.settlement_cycle AS cycle,"
        " m.status AS merchant_status,"
        f" {', '.join(f't.{c}' for c in tally_columns)}"
        # The chunk's rows first (CROSS JOIN fixes SQLite's join order: its JSON rows are read
        # once, each merchant's sums found by an automatic index on t; PostgreSQL plans freely).
        " FROM {chunk} CROSS JOIN t JOIN merchants_merchant m ON m.id = t.merchant_id"
        " WHERE t.merchant_id = k.merchant_id"
    )
    signed = [f"{'+' if f.sign > 0 else '-'} f_{f.key}" for f in figures if f.sign]
    before = f"({' '.join(signed)} + carried_in)" if signed else "(carried_in)"
    work_columns = (
        ("merchant_id", "uuid"), ("payable_id", "uuid"), ("due_id", "uuid"), ("fee_id", "uuid"),
        ("batch_id", "uuid"), ("entry_id", "uuid"), ("cycle", "text"), ("payout_date", "date"),
        *((k, "bigint") for k in keys),
        ("d0_fee", "bigint"), ("carried_in", "bigint"), ("carried_n", "integer"), ("net", "bigint"),
        ("status", "text"),
    )
    # The rule (module docstring), over the tallies: `before` the D0 fee, the fee, then the status.
    rule = (
        f"WITH tally AS ({tally}),"
        f" b AS (SELECT tally.*, {before} AS before_d0 FROM tally),"
        " f AS (SELECT b.*, CASE WHEN cycle = 'D0' AND before_d0 > 0 THEN"
        f" CASE WHEN (before_d0 * %(d0_ppm)s + {PPM // 2}) / {PPM} + %(d0_fixed)s < before_d0"
        f" THEN (before_d0 * %(d0_ppm)s + {PPM // 2}) / {PPM} + %(d0_fixed)s ELSE before_d0 END ELSE 0 END"
        " AS charge FROM b),"
        " g AS (SELECT f.*, (before_d0 - charge <= 0 OR before_d0 - charge < %(min_payout)s) AS carry FROM f)"
        f" INSERT INTO {_WORK} ({', '.join(c for c, _ in work_columns)})"
        " SELECT merchant_id, payable_id, due_id, fee_id, batch_id, entry_id, cycle,"
        f" CASE cycle WHEN 'D0' THEN %(d0_payout)s ELSE %(t1_payout)s END, {', '.join(keys) + ', ' if keys else ''}"
        " CASE WHEN carry THEN 0 ELSE charge END, carried_in, carried_n,"
        " CASE WHEN carry THEN before_d0 ELSE before_d0 - charge END,"
        f" CASE WHEN carry THEN '{BatchStatus.CARRIED.value}'"
        f" WHEN merchant_status <> '{MerchantStatus.ACTIVE.value}' THEN '{BatchStatus.HELD.value}'"
        f" ELSE '{BatchStatus.DUE.value}' END FROM g"
    )
    pairs = ", ".join(f"'{f.key}', f_{f.key}" for f in figures)
    insert_batches = (
        "INSERT INTO settlement_settlementbatch (id, merchant_id, settlement_date, cycle, payout_date, figures,"
        " d0_fee, carried_in, net, status, created_at, updated_at)"
        " SELECT batch_id, merchant_id, %(day)s, cycle, payout_date, {object}(" + pairs + "),"
        f" d0_fee, carried_in, net, status, %(now)s, %(now)s FROM {_WORK}"
    )
    return _Statements(work_columns, rule, insert_batches)


_LINK_CARRIED = (
    f"UPDATE settlement_settlementbatch SET carried_to_id = (SELECT w.batch_id FROM {_WORK} w"
    " WHERE w.merchant_id = settlement_settlementbatch.merchant_id)"
    f" WHERE status = '{BatchStatus.CARRIED.value}' AND carried_to_id IS NULL AND settlement_date < %(day)s"
    f" AND merchant_id IN (SELECT merchant_id FROM {_WORK} WHERE carried_n > 0)"
)
# A batch's entry: payable → payout due for the net, and → the merchant's fee income for the
# D0 fee. The texts (reference, key, account codes) are made once per batch, in `b`, for all
# its legs.
_BATCH_TEXTS = (
    f"WITH b AS (SELECT w.*, 'batch:' || daozhang_uuid_text(w.batch_id) AS ref,"
    " daozhang_uuid_text(w.merchant_id) AS merchant_text"
    f" FROM {_WORK} w WHERE w.status <> '{BatchStatus.CARRIED.value}')"
)
_ENTRY_OF_BATCH = ("b.entry_id, 'settlement.batch', b.merchant_id, b.ref,"
                   " 'settlement:' || b.merchant_text || ':' || %(day_text)s, %(day)s, 'CNY'")
_PAYABLE_LEG = named_leg_columns(_ENTRY_OF_BATCH, "b.payable_id", account_columns_sql("b.merchant_text", "payable"),
                                 "b.net + b.d0_fee")
_BATCH_LEGS = (
    f"{_BATCH_TEXTS} SELECT {_PAYABLE_LEG} FROM b"
    f" UNION ALL SELECT {_ENTRY_OF_BATCH}, b.due_id, {account_columns_sql('b.merchant_text', 'payout_due')},"
    " -b.net FROM b"
    f" UNION ALL SELECT {_ENTRY_OF_BATCH}, b.fee_id, {account_columns_sql('b.merchant_text', 'platform:fee_income')},"
    " -b.d0_fee FROM b WHERE b.d0_fee <> 0"
)
_SUMMARY = f"SELECT status, COUNT(*), SUM(net), SUM(carried_n) FROM {_WORK} GROUP BY status"


def run_settlement(day: dt.date, *, cycles: tuple[str, ...] = ("T1", "D0"),
                   progress: Callable[[int], None] | None = None) -> RunResult:
    """Build the batches of `day` for merchants on `cycles`. Safe to run again."""
    now = clock.now()
    for cycle in cycles:
        if now < cutoff_moment(day, cycle):
            raise DomainError("settlement_not_due", "date",
                              {"date": day.isoformat(), "cycle": cycle, "at": cutoff_moment(day, cycle).isoformat()})
    payout_dates: dict[str, dt.date] = {}
    for cycle in cycles:
        try:
            payout_dates[cycle] = payout_date_for(day, cycle)
        except CalendarGap as gap:
            raise_alert("calendar_gap", str(gap.year),
                        en=f"Settlement of {day} stopped: no working-day calendar for {gap.year}.",
                        zh=f"{day} 结算已停止：缺少 {gap.year} 年工作日历。")
            raise
    resolve_alert("settlement_stopped", day.isoformat())
    # Before a row of the day is read: no booking may stamp this date from now on, and the
    # ones stamping it right now commit first (settlement.stamping, issue 11 item 8).
    close_days(day, cycles)

    # Raw rows: the ORM's per-row converters cost more than the query for ten thousand.
    with connection.cursor() as cur:
        cur.execute(f"SELECT id FROM {Merchant._meta.db_table}"
                    f" WHERE settlement_cycle IN ({', '.join(['%s'] * len(cycles))}) ORDER BY id", list(cycles))
        merchants = [r[0] for r in cur.fetchall()]
        cur.execute(f"SELECT merchant_id FROM {SettlementBatch._meta.db_table} WHERE settlement_date = %s",
                    [connection.ops.adapt_datefield_value(day)])
        done = {r[0] for r in cur.fetchall()}
    todo = [m for m in merchants if m not in done]
    result = RunResult(day, skipped_existing=len(merchants) - len(todo))
    size = settings.SETTLEMENT_CHUNK
    chunks = [todo[i: i + size] for i in range(0, len(todo), size)]
    params = {
        "day": connection.ops.adapt_datefield_value(day), "day_text": day.isoformat(),
        "now": connection.ops.adapt_datetimefield_value(clock.now()),
        "t1_payout": connection.ops.adapt_datefield_value(payout_dates.get("T1", day)),
        "d0_payout": connection.ops.adapt_datefield_value(payout_dates.get("D0", day)),
        "d0_ppm": settings.D0_FEE_PPM, "d0_fixed": settings.D0_FEE_FIXED_FEN, "min_payout": settings.MIN_PAYOUT_FEN,
    }

    def settle(chunk: list[Any]) -> RunResult:
        try:
            return _settle_chunk(chunk, params)
        except IntegrityError:
            # Another run wrote some of these batches first: settle only the rest.
            with connection.cursor() as cur:
                cur.execute(f"SELECT merchant_id FROM {SettlementBatch._meta.db_table}"
                            " WHERE settlement_date = %s AND merchant_id BETWEEN %s AND %s",
                            [params["day"], chunk[0], chunk[-1]])
                taken = {r[0] for r in cur.fetchall()}
            part = _settle_chunk([m for m in chunk if m not in taken], params)
            part.skipped_existing += sum(1 for m in chunk if m in taken)
            return part

    writers = settings.SETTLEMENT_WRITERS
    if connection.vendor != "postgresql" or connection.in_atomic_block or len(chunks) < 2:
        writers = 1  # SQLite has one writer; a caller's transaction must see (and own) every chunk
    for part in _in_parallel(settle, chunks, writers, progress):
        result.batches += part.batches
        result.due += part.due
        result.carried += part.carried
        result.held += part.held
        result.total_net += part.total_net
        result.skipped_existing += part.skipped_existing
    return result


def _in_parallel(settle: Callable[[list[uuid.UUID]], RunResult], chunks: list[list[uuid.UUID]], writers: int,
                 progress: Callable[[int], None] | None) -> list[RunResult]:
    """Settle the chunks, each in its own transaction, on `writers` connections at once.

    Why: a chunk is almost all the server's work (summing the day, inserting rows,
    updating balances, the checks at commit), and one PostgreSQL connection uses one core;
    with two connections the server works on two chunks at once. The chunks touch
    disjoint merchants; shared platform
    accounts (D0 fee income) are locked in id order by every writer, so writers may wait
    for each other but never deadlock. Each chunk commits on its own, as one writer would:
    a crash leaves whole chunks, and a re-run writes only what is missing.
    """
    if writers <= 1:
        parts = []
        for chunk in chunks:
            parts.append(settle(chunk))
            if progress:
                progress(len(chunk))
        return parts
    todo: queue.SimpleQueue[list[uuid.UUID]] = queue.SimpleQueue()
    for chunk in chunks:
        todo.put(chunk)
    done: list[RunResult] = []
    failed: list[BaseException] = []
    lock = threading.Lock()

    def work(own_connection: bool) -> None:
        try:
            while not failed:
                try:
                    chunk = todo.get_nowait()
                except queue.Empty:
                    return
                part = settle(chunk)
                with lock:
                    done.append(part)
                    if progress:
                        progress(len(chunk))
        except BaseException as exc:  # re-raised in the calling thread below
            failed.append(exc)
        finally:
            if own_connection:
                connection.close()  # this thread's own connection

    # The calling thread is one of the writers: its connection is open and warm already.
    threads = [threading.Thread(target=work, args=(True,), name=f"settlement-writer-{i}") for i in range(1, writers)]
    for t in threads:
        t.start()
    work(own_connection=False)
    for t in threads:
        t.join()
    if failed:
        raise failed[0]
    return done


def _settle_chunk(chunk: list[Any], params: dict[str, Any]) -> RunResult:
    """Settle one chunk of merchants (ids in the database's form, sorted) in one transaction."""
    part = RunResult(dt.date.fromisoformat(params["day_text"]))
    if not chunk:
        return part
    sqlite = connection.vendor == "sqlite"
    rows: list[tuple[Any, ...]] = []
    for raw in chunk:
        payable_id, due_id, fee_id = settlement_account_ids(uuid.UUID(raw) if sqlite else raw)
        if sqlite:
            rows.append((raw, payable_id.hex, due_id.hex, fee_id.hex, uuid7().hex, uuid7().hex))
        else:
            rows.append((raw, payable_id, due_id, fee_id, new_id(), new_id()))
    p = {**params, "lo": chunk[0], "hi": chunk[-1]}
    source = rows_source("k", _CHUNK_COLUMNS, rows, p)
    sql = _statements()
    json_object = "jsonb_build_object" if connection.vendor == "postgresql" else "json_object"
    with transaction.atomic():
        fresh_temp_table(_WORK, sql.work_columns)
        run(sql.rule.replace("{chunk}", source), p)
        summary = {status: (int(n), int(net or 0), int(carried_n or 0))
                   for status, n, net, carried_n in run(_SUMMARY, {})}
        if not summary:
            return part
        run(sql.insert_batches.replace("{object}", json_object), p)
        if any(carried_n for _, _, carried_n in summary.values()):
            run(_LINK_CARRIED, p)
        if set(summary) - {BatchStatus.CARRIED.value}:
            post_entries_from(_BATCH_LEGS, p)
    none = (0, 0, 0)
    (part.due, due_net, _), (part.held, held_net, _), (part.carried, _, _) = (
        summary.get(s.value, none) for s in (BatchStatus.DUE, BatchStatus.HELD, BatchStatus.CARRIED))
    part.batches = part.due + part.held + part.carried
    part.total_net = due_net + held_net
    return part
