"""The bulk path: record many already-authorised sales in one transaction per batch.

Used by imports (terminal batch uploads, migrations from another system) and by the demo
loader. A batch of a thousand payments costs a handful of statements rather than
thousands: the replay lookup (one query on PostgreSQL, one per merchant on SQLite), one
insert of the payment rows (`executemany` on SQLite; on PostgreSQL one statement with an
array per column, bound server-side), and the ledger's set-based writer for the entries,
postings and balances.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max

from daozhang.core import clock
from daozhang.core.db import execute_server_bound
from daozhang.core.ids import new_id
from daozhang.dates.cycles import business_day_of, cutoff
from daozhang.ledger.services import NewEntry, post_entries
from daozhang.merchants.models import FeePlan, Merchant
from daozhang.payments.fees import fee_for
from daozhang.payments.ledger_entries import sale_entry
from daozhang.settlement.models import SettlementBatch
from daozhang.settlement.stamping import open_day


@dataclass(frozen=True, slots=True)
class ImportedSale:
    merchant_id: uuid.UUID
    terminal_pk: uuid.UUID
    idempotency_key: str
    channel: str
    entry_mode: str
    card_type: str
    amount: int
    stan: str
    created_at: dt.datetime
    rrn: str = ""
    auth_code: str = ""
    channel_txn_id: str = ""
    masked_pan: str = ""
    last4: str = ""
    pan_token: str = ""


_COLUMNS = (
    "id, merchant_id, terminal_id, idempotency_key, channel, entry_mode, card_type, amount, fee,"
    " fee_rule, currency, status, response_code, response_message, stan, rrn, auth_code,"
    " channel_txn_id, masked_pan, last4, pan_token, business_date, created_at, updated_at, settlement_date"
)
_INSERT = f"INSERT INTO payments_payment ({_COLUMNS}) VALUES ({','.join(['%s'] * 25)})"  # noqa: S608
# PostgreSQL: the whole batch in one statement, one array per column.
_TYPES = ("uuid", "uuid", "uuid") + ("text",) * 4 + ("bigint", "bigint") + ("text",) * 12 + (
    "date", "timestamptz", "timestamptz", "date")
_INSERT_PG = (
    f"INSERT INTO payments_payment ({_COLUMNS}) SELECT * FROM unnest("  # noqa: S608
    + ",".join(f"%b::{t}[]" for t in _TYPES) + ")"
)
_APPROVED = ("CNY", "approved", "00", "approved 交易成功")
_ONE_DAY = dt.timedelta(days=1)


def import_sales(rows: Iterable[ImportedSale], *, batch_size: int = 1000,
                 progress: object = None) -> int:
    """Record approved sales; rows whose (merchant, idempotency key) exist are skipped.

    Returns how many were new. Each batch is one transaction, so a crash loses at most
    the batch in flight, and running the same import again books nothing twice.
    """
    plans: dict[uuid.UUID, FeePlan] = {}
    cycles: dict[uuid.UUID, tuple[str, dt.time, dt.date | None]] = {}
    written = 0
    with _bulk_session():
        for batch in _batches(rows, batch_size):
            written += _import_batch(batch, plans, cycles)
            if progress is not None:
                progress(len(batch))  # type: ignore[operator]
    return written


# SQLite's default page cache (2 MiB) is smaller than what one batch of a thousand payments
# dirties (payment rows and their indexes, entries, postings): SQLite then spills pages to
# the WAL in the middle of the transaction. For the length of an import the connection
# gets a 64 MiB cache (an upper bound, allocated only as used), then its own size back.
# Measured on the bulk path: 20–40 % less database time per payment (docs/performance.md).
_SQLITE_IMPORT_CACHE_KIB = 64 * 1024


@contextlib.contextmanager
def _bulk_session() -> Iterator[None]:
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cur:
        cur.execute("PRAGMA cache_size")
        (before,) = cur.fetchone()
        if before >= 0 or -before >= _SQLITE_IMPORT_CACHE_KIB:  # pages, or already as large
            before = None
        else:
            cur.execute(f"PRAGMA cache_size = -{_SQLITE_IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        if before is not None:
            with connection.cursor() as cur:
                cur.execute(f"PRAGMA cache_size = {int(before)}")


def _batches(rows: Iterable[ImportedSale], size: int) -> Iterator[list[ImportedSale]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def _import_batch(batch: Sequence[ImportedSale], plans: dict[uuid.UUID, FeePlan],
                  cycles: dict[uuid.UUID, tuple[str, dt.time, dt.date | None]]) -> int:
    missing = {r.merchant_id for r in batch} - plans.keys()
    if missing:
        settled = dict(SettlementBatch.objects.filter(merchant_id__in=missing).values("merchant_id")
                       .annotate(last=Max("settlement_date")).values_list("merchant_id", "last"))
        for m in Merchant.objects.select_related("fee_plan").filter(id__in=missing):
            plans[m.id] = m.fee_plan
            # The cycle's cut-off, and the last settled date: a sale booked now for a date
            # already settled is paid with the next batch instead of being lost between them.
            cycles[m.id] = (m.settlement_cycle, cutoff(m.settlement_cycle), settled.get(m.id))
    sqlite = connection.vendor == "sqlite"
    adapt_day, adapt_time = connection.ops.adapt_datefield_value, connection.ops.adapt_datetimefield_value
    business_tz = clock.business_tz()  # clock.business_date, with the zone looked up once a batch
    # SQLite stores a naive UTC string: Django's adapt_datetimefield_value, inlined for aware values.
    db_tz = connection.timezone if sqlite and settings.USE_TZ else None
    currency, status, code, message = _APPROVED

    with transaction.atomic():
        seen = _existing(batch)
        payment_rows: list[tuple[Any, ...]] = []
        entries: list[NewEntry] = []
        now = adapt_time(clock.now())
        days: dict[dt.date, Any] = {}
        # The first open date of each (cycle, date) the batch books on, asked once each in
        # this transaction, under the date's lock (settlement.stamping: a run may be closing it).
        open_days: dict[tuple[str, dt.date], dt.date] = {}
        for r in batch:
            key = (r.merchant_id.int, r.idempotency_key)
            if key in seen:
                continue
            seen.add(key)
            fee = fee_for(plans[r.merchant_id], channel=r.channel, entry_mode=r.entry_mode,
                          card_type=r.card_type, amount_fen=r.amount)
            pid = new_id()
            local = r.created_at.astimezone(business_tz)
            day = local.date()
            db_day = days.get(day)
            if db_day is None:
                db_day = days[day] = adapt_day(day)
            cycle, cut, last_settled = cycles[r.merchant_id]
            pay_day = business_day_of(local, cycle, cut)
            stamped = open_days.get((cycle, pay_day))
            if stamped is None:
                stamped = open_days[(cycle, pay_day)] = open_day(cycle=cycle, wanted=pay_day)
            pay_day = stamped
            if last_settled is not None and pay_day <= last_settled:
                pay_day = last_settled + _ONE_DAY
            db_pay_day = days.get(pay_day)
            if db_pay_day is None:
                db_pay_day = days[pay_day] = adapt_day(pay_day)
            payment_rows.append((
                pid.hex if sqlite else pid, r.merchant_id.hex if sqlite else r.merchant_id,
                r.terminal_pk.hex if sqlite else r.terminal_pk, r.idempotency_key, r.channel, r.entry_mode,
                r.card_type, r.amount, fee.fen, fee.rule, currency, status, code, message, r.stan, r.rrn,
                r.auth_code, r.channel_txn_id, r.masked_pan, r.last4, r.pan_token, db_day,
                str(r.created_at.astimezone(db_tz).replace(tzinfo=None))
                if db_tz is not None and r.created_at.utcoffset() is not None else adapt_time(r.created_at), now,
                db_pay_day,
            ))
            entries.append(sale_entry(payment_id=pid, merchant_id=r.merchant_id, channel=r.channel,
                                      amount=r.amount, fee=fee.fen, business_date=day))
        if payment_rows:
            if connection.vendor == "postgresql":
                execute_server_bound(_INSERT_PG, [list(col) for col in zip(*payment_rows, strict=True)])
            else:
                with connection.cursor() as cur:
                    cur.executemany(_INSERT, payment_rows)
            post_entries(entries, keys_are_new=True)
    return len(payment_rows)


def _existing(batch: Sequence[ImportedSale]) -> set[tuple[int, str]]:
    """Keys of this batch already recorded, as (merchant id as int, key), found through the
    (merchant, key) unique index: one query on PostgreSQL, one per merchant on SQLite."""
    by_merchant: dict[uuid.UUID, set[str]] = {}
    for r in batch:
        by_merchant.setdefault(r.merchant_id, set()).add(r.idempotency_key)
    found: set[tuple[int, str]] = set()
    sqlite = connection.vendor == "sqlite"
    if connection.vendor == "postgresql":
        pairs = [(m, k) for m, keys in by_merchant.items() for k in keys]
        rows = execute_server_bound(
            "SELECT p.merchant_id, p.idempotency_key FROM unnest(%b::uuid[], %b::text[]) AS b(merchant_id, key)"
            " JOIN payments_payment p ON p.merchant_id = b.merchant_id AND p.idempotency_key = b.key",
            [[m for m, _ in pairs], [k for _, k in pairs]],
        )
        return {(m.int, k) for m, k in rows}
    with connection.cursor() as cur:
        for merchant_id, key_set in by_merchant.items():
            keys = sorted(key_set)
            for i in range(0, len(keys), 900):
                part = keys[i : i + 900]
                cur.execute(
                    "SELECT idempotency_key FROM payments_payment WHERE merchant_id = %s"  # noqa: S608
                    f" AND idempotency_key IN ({','.join(['%s'] * len(part))})",
                    [merchant_id.hex if sqlite else merchant_id, *part],
                )
                found.update((merchant_id.int, key) for (key,) in cur.fetchall())
    return found
