"""The bulk path: record many already-authorised sales in one transaction per batch.

Used by imports (terminal batch uploads, migrations from another system) and by the demo
loader. Rows are written with `executemany` and the ledger's set-based writer, so a batch
of a thousand payments costs a handful of statements rather than thousands.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.db import connection, transaction

from daozhang.core import clock
from daozhang.core.ids import new_id
from daozhang.ledger.services import NewEntry, post_entries
from daozhang.merchants.models import FeePlan, Merchant
from daozhang.payments.fees import fee_for
from daozhang.payments.ledger_entries import sale_entry


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
    " channel_txn_id, masked_pan, last4, pan_token, business_date, created_at, updated_at"
)
_INSERT = f"INSERT INTO payments_payment ({_COLUMNS}) VALUES ({','.join(['%s'] * 24)})"  # noqa: S608


def import_sales(rows: Iterable[ImportedSale], *, batch_size: int = 1000,
                 progress: object = None) -> int:
    """Record approved sales; rows whose (merchant, idempotency key) exist are skipped.

    Returns how many were new. Each batch is one transaction, so a crash loses at most
    the batch in flight, and running the same import again books nothing twice.
    """
    plans: dict[uuid.UUID, FeePlan] = {}
    written = 0
    for batch in _batches(rows, batch_size):
        written += _import_batch(batch, plans)
        if progress is not None:
            progress(len(batch))  # type: ignore[operator]
    return written


def _batches(rows: Iterable[ImportedSale], size: int) -> Iterator[list[ImportedSale]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def _import_batch(batch: Sequence[ImportedSale], plans: dict[uuid.UUID, FeePlan]) -> int:
    missing = {r.merchant_id for r in batch} - plans.keys()
    if missing:
        for m in Merchant.objects.select_related("fee_plan").filter(id__in=missing):
            plans[m.id] = m.fee_plan
    sqlite = connection.vendor == "sqlite"
    ops = connection.ops

    def u(x: uuid.UUID) -> object:
        return x.hex if sqlite else x

    with transaction.atomic():
        seen = _existing(batch)
        payment_rows: list[Any] = []
        entries: list[NewEntry] = []
        now = ops.adapt_datetimefield_value(clock.now())
        for r in batch:
            if (r.merchant_id, r.idempotency_key) in seen:
                continue
            seen.add((r.merchant_id, r.idempotency_key))
            fee = fee_for(plans[r.merchant_id], channel=r.channel, entry_mode=r.entry_mode,
                          card_type=r.card_type, amount_fen=r.amount)
            pid = new_id()
            day = clock.business_date(r.created_at)
            payment_rows.append((
                u(pid), u(r.merchant_id), u(r.terminal_pk), r.idempotency_key, r.channel,
                r.entry_mode, r.card_type, r.amount, fee.fen, fee.rule, "CNY", "approved", "00",
                "approved 交易成功", r.stan, r.rrn, r.auth_code, r.channel_txn_id, r.masked_pan,
                r.last4, r.pan_token, ops.adapt_datefield_value(day),
                ops.adapt_datetimefield_value(r.created_at), now,
            ))
            entries.append(sale_entry(payment_id=pid, merchant_id=r.merchant_id, channel=r.channel,
                                      amount=r.amount, fee=fee.fen, business_date=day))
        if payment_rows:
            with connection.cursor() as cur:
                cur.executemany(_INSERT, payment_rows)
            post_entries(entries, keys_are_new=True)
    return len(payment_rows)


def _existing(batch: Sequence[ImportedSale]) -> set[tuple[uuid.UUID, str]]:
    """Keys of this batch already recorded; both IN lists use the (merchant, key) index."""
    sqlite = connection.vendor == "sqlite"
    merchants = [m.hex if sqlite else m for m in {r.merchant_id for r in batch}]
    keys = sorted({r.idempotency_key for r in batch})
    found: set[tuple[uuid.UUID, str]] = set()
    with connection.cursor() as cur:
        for i in range(0, len(keys), 900):
            part = keys[i : i + 900]
            cur.execute(
                "SELECT merchant_id, idempotency_key FROM payments_payment"  # noqa: S608
                f" WHERE merchant_id IN ({','.join(['%s'] * len(merchants))})"
                f" AND idempotency_key IN ({','.join(['%s'] * len(part))})",
                [*merchants, *part],
            )
            for mid, key in cur.fetchall():
                found.add((mid if isinstance(mid, uuid.UUID) else uuid.UUID(mid), key))
    return found
