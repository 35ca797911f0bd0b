"""The bulk path: already-authorised sales recorded 1,000 per transaction.

* ours    — `daozhang.payments.bulk.import_sales(rows, batch_size=1000)`: the replay check,
            fee, the payment rows, the ledger entries, their postings and the balances;
* ceiling — per batch of 1,000: the entry rows and the posting rows with `executemany`,
            one transaction (bench/plain.py).

The input rows are built before the clock starts, for both.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

from bench.common import CREDIT_CARD, DEBIT_CARD, MIX, Shop, amount
from bench.plain import PlainWriter

BATCH = 1000


def imported_sales(shops: Sequence[Shop], n: int, rng: random.Random, tag: str) -> list[Any]:
    from daozhang.core import clock
    from daozhang.payments.bulk import ImportedSale
    from daozhang.payments.cards import card_ref

    cards = {DEBIT_CARD: (card_ref(DEBIT_CARD), "debit"), CREDIT_CARD: (card_ref(CREDIT_CARD), "credit")}
    # Rows come in time order, as a terminal's batch upload or a migration export does.
    start = clock.now() - dt.timedelta(hours=6)
    step = dt.timedelta(hours=6) / max(n, 1)
    rows = []
    for i in range(n):
        shop = shops[i % len(shops)]
        channel, mode, pan = MIX[i % len(MIX)]
        ref, card_type = cards[pan] if pan else (None, "")
        rows.append(ImportedSale(
            merchant_id=shop.merchant_id, terminal_pk=shop.terminal_pk, idempotency_key=f"bench-bulk:{tag}:{i}",
            channel=channel, entry_mode=mode, card_type=card_type, amount=amount(rng), stan=f"{i % 1_000_000:06d}",
            created_at=start + i * step, rrn=f"{i:012d}",
            auth_code=f"{i % 1_000_000:06d}", masked_pan=ref.masked if ref else "",
            last4=ref.last4 if ref else "", pan_token=ref.token if ref else "",
        ))
    return rows


def ours(rows: Sequence[Any]) -> int:
    from daozhang.payments.bulk import import_sales

    written = import_sales(rows, batch_size=BATCH)
    if written != len(rows):
        raise RuntimeError(f"import_sales wrote {written} of {len(rows)}")
    return written


def ceiling(writer: PlainWriter, sales: Sequence[tuple[int, int]]) -> int:
    for i in range(0, len(sales), BATCH):
        writer.write(sales[i : i + BATCH])
    return len(sales)
