"""The settlement run: one batch per merchant per settlement date, set-based.

A few GROUP BY queries read the day (booked sales, undos, risk holds and releases, manual
adjustments, carried-forward nets); the
batches and their ledger entries are written in chunks, one transaction per chunk. The
unique (merchant, settlement date) key makes a re-run — after a crash, or a second
operator pressing the button — write only what is missing.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from daozhang.core import clock
from daozhang.core.alerts import raise_alert, resolve_alert
from daozhang.core.db import execute_server_bound
from daozhang.core.errors import DomainError
from daozhang.core.ids import new_id
from daozhang.ledger.accounts import fee_income, merchant_payable, merchant_payout_due, pick_shard
from daozhang.ledger.services import Leg, NewEntry, post_entries
from daozhang.merchants.models import MerchantStatus
from daozhang.settlement.calendar import CalendarGap
from daozhang.settlement.cycles import cutoff_moment, d0_fee, payout_date_for
from daozhang.settlement.models import BatchStatus


@dataclass
class _Tally:
    sales_count: int = 0
    sales_amount: int = 0
    fees: int = 0
    undone: int = 0
    held: int = 0
    released: int = 0
    adjustments: int = 0
    carried_in: int = 0
    carried_ids: list[Any] = field(default_factory=list)


@dataclass
class RunResult:
    settlement_date: dt.date
    batches: int = 0
    due: int = 0
    carried: int = 0
    held: int = 0
    skipped_existing: int = 0
    total_net: int = 0


_BATCH_COLUMNS = ("id, merchant_id, settlement_date, cycle, payout_date, sales_count, sales_amount, fees,"
                  " undone_amount, held_amount, released_amount, adjustments, d0_fee, carried_in, net, status,"
                  " created_at, updated_at")
_BATCH_TYPES = ("uuid", "uuid", "date", "text", "date", "integer") + ("bigint",) * 9 + (
    "text", "timestamptz", "timestamptz")


def _uuid(v: Any) -> uuid.UUID:
    return v if isinstance(v, uuid.UUID) else uuid.UUID(str(v))


def _tallies(day: dt.date) -> dict[uuid.UUID, _Tally]:
    tallies: dict[uuid.UUID, _Tally] = defaultdict(_Tally)
    d = connection.ops.adapt_datefield_value(day)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT merchant_id, COUNT(*), SUM(amount), SUM(fee) FROM payments_payment"
            " WHERE settlement_date = %s GROUP BY merchant_id", [d])
        for mid, n, amount, fee in cur.fetchall():
            t = tallies[_uuid(mid)]
            t.sales_count, t.sales_amount, t.fees = int(n), int(amount), int(fee)
        cur.execute(
            "SELECT merchant_id, SUM(amount - fee) FROM payments_payment"
            " WHERE undo_settlement_date = %s GROUP BY merchant_id", [d])
        for mid, undone in cur.fetchall():
            tallies[_uuid(mid)].undone = int(undone)
        for sql, attr in (
            ("SELECT merchant_id, SUM(amount) FROM risk_riskhold WHERE settlement_date = %s GROUP BY merchant_id",
             "held"),
            ("SELECT merchant_id, SUM(amount) FROM risk_riskhold WHERE release_settlement_date = %s"
             " GROUP BY merchant_id", "released"),
            ("SELECT merchant_id, SUM(amount) FROM settlement_adjustment WHERE settlement_date = %s"
             " GROUP BY merchant_id", "adjustments"),
        ):
            cur.execute(sql, [d])
            for mid, total in cur.fetchall():
                setattr(tallies[_uuid(mid)], attr, int(total))
        cur.execute(
            "SELECT merchant_id, id, net FROM settlement_settlementbatch"
            " WHERE status = %s AND carried_to_id IS NULL AND settlement_date < %s", [BatchStatus.CARRIED, d])
        for mid, bid, net in cur.fetchall():
            t = tallies[_uuid(mid)]
            t.carried_in += int(net)
            t.carried_ids.append(bid)
    return tallies


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

    from daozhang.merchants.models import Merchant
    from daozhang.settlement.models import SettlementBatch

    tallies = _tallies(day)
    # Whole-table reads by cycle and by date: cheaper than IN lists of ten thousand ids.
    # (Raw rows: the ORM's per-row converters cost more than the query for ten thousand.)
    with connection.cursor() as cur:
        cur.execute(f"SELECT id, settlement_cycle, status FROM {Merchant._meta.db_table}"  # noqa: S608 - placeholders
                    f" WHERE settlement_cycle IN ({', '.join(['%s'] * len(cycles))})", list(cycles))
        merchants = {m_id: (cycle, status) for m_id, cycle, status in
                     ((_uuid(r[0]), r[1], r[2]) for r in cur.fetchall()) if m_id in tallies}
    done = set(SettlementBatch.objects.filter(settlement_date=day).values_list("merchant_id", flat=True))
    done &= merchants.keys()
    result = RunResult(day, skipped_existing=len(done))
    todo = sorted(m for m in merchants if m not in done)
    size = settings.SETTLEMENT_CHUNK
    chunks = [todo[i: i + size] for i in range(0, len(todo), size)]

    def settle(chunk: list[uuid.UUID]) -> RunResult:
        part = RunResult(day)
        try:
            _write_chunk(day, chunk, tallies, merchants, payout_dates, part)
        except IntegrityError:
            # Another run wrote some of these batches first: write only the rest.
            taken = set(SettlementBatch.objects.filter(settlement_date=day, merchant_id__in=chunk)
                        .values_list("merchant_id", flat=True))
            part.skipped_existing += len(taken)
            _write_chunk(day, [m for m in chunk if m not in taken], tallies, merchants, payout_dates, part)
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

    Why: on PostgreSQL a chunk is mostly the server's work (inserting rows, updating
    balances, the checks at commit) while this process builds the next chunk; with two
    connections the server works on two chunks at once and the Python work of one overlaps
    the database work of the other. The chunks touch disjoint merchants; shared platform
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

    def work() -> None:
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
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=work, name=f"settlement-writer-{i}") for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise failed[0]
    return done


def _write_chunk(day: dt.date, chunk: list[uuid.UUID], tallies: dict[uuid.UUID, _Tally],
                 merchants: dict[uuid.UUID, tuple[str, str]], payout_dates: dict[str, dt.date],
                 result: RunResult) -> None:
    ops = connection.ops
    now = ops.adapt_datetimefield_value(clock.now())
    day_db = ops.adapt_datefield_value(day)
    payout_db = {cycle: ops.adapt_datefield_value(d) for cycle, d in payout_dates.items()}
    hexed = connection.vendor == "sqlite"  # SQLite stores uuids as hex text (looked up once, not per row)
    # Looked up once per chunk, not per merchant (settings and enum members are slow attributes).
    min_payout, active = settings.MIN_PAYOUT_FEN, MerchantStatus.ACTIVE
    carried, held, due = BatchStatus.CARRIED, BatchStatus.HELD, BatchStatus.DUE
    rows: list[Any] = []
    carried_links: list[Any] = []
    entries: list[NewEntry] = []
    counts = {"due": 0, "carried": 0, "held": 0, "net": 0}
    for mid in chunk:
        t = tallies[mid]
        cycle, status = merchants[mid]
        before_d0 = (t.sales_amount - t.fees - t.undone - t.held + t.released + t.adjustments + t.carried_in)
        charge = d0_fee(before_d0) if cycle == "D0" else 0
        net = before_d0 - charge
        if net <= 0 or net < min_payout:
            state, charge, net = carried, 0, before_d0
        elif status != active:
            state = held  # settlement suspended for this merchant: settled, not paid
        else:
            state = due
        bid = new_id()
        bid_db = bid.hex if hexed else bid
        rows.append((bid_db, mid.hex if hexed else mid, day_db, cycle, payout_db[cycle],
                     t.sales_count, t.sales_amount, t.fees, t.undone, t.held, t.released, t.adjustments, charge,
                     t.carried_in, net, state, now, now))
        carried_links += [(bid_db, c) for c in t.carried_ids]
        if state != carried:
            legs = [Leg(merchant_payable(mid), net + charge), Leg(merchant_payout_due(mid), -net)]
            if charge:
                legs.append(Leg(fee_income(pick_shard()), -charge))
            entries.append(NewEntry(kind="settlement.batch", idempotency_key=f"settlement:{mid}:{day}",
                                    business_ref=f"batch:{bid}", business_date=day, legs=tuple(legs),
                                    merchant_id=mid))
            counts["net"] += net
        counts["due" if state == due else "held" if state == held else "carried"] += 1
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # One statement for the whole chunk, the columns sent as binary arrays.
            execute_server_bound(
                f"INSERT INTO settlement_settlementbatch ({_BATCH_COLUMNS}) SELECT * FROM unnest("  # noqa: S608
                + ",".join(f"%b::{t}[]" for t in _BATCH_TYPES) + ")",
                [list(col) for col in zip(*rows, strict=True)])
        else:
            cur.executemany(f"INSERT INTO settlement_settlementbatch ({_BATCH_COLUMNS})"  # noqa: S608
                            f" VALUES ({','.join(['%s'] * len(_BATCH_TYPES))})", rows)
        if carried_links:
            cur.executemany("UPDATE settlement_settlementbatch SET carried_to_id = %s WHERE id = %s",
                            carried_links)
        if entries:
            # The batch rows just inserted hold the unique (merchant, settlement date) key in
            # this transaction, so their entries' keys (settlement:<M>:<date>) are new: no
            # replay look-up. The entry key's own unique constraint still refuses a duplicate.
            post_entries(entries, keys_are_new=True)
    result.batches += len(rows)
    result.due += counts["due"]
    result.carried += counts["carried"]
    result.held += counts["held"]
    result.total_net += counts["net"]
