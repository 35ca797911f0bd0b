"""The online path: one approved sale per database transaction, three ways.

* ours    — `daozhang.payments.services.sale` with the sandbox channels: validation, the
            merchant's terminal, the channel call, fee, the payment row, the ledger entry,
            its three postings and three balance updates, in one transaction;
* ceiling — one entry row + three posting rows with plain SQL (bench/plain.py);
* hordak  — django-hordak (PostgreSQL only): a hordak Transaction and three Legs, created
            the way hordak documents it (`Transaction.objects.create`, `Leg.objects.create`).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from decimal import Decimal

from bench.common import Shop, sale_fields
from bench.plain import PlainWriter, sale_amounts


def ours(shops: Sequence[Shop], rng: random.Random, tag: str) -> Callable[[], None]:
    from daozhang.merchants.models import Merchant
    from daozhang.payments import services

    # The API authenticates with select_related("merchant__fee_plan"): the same objects here.
    found = {m.id: m for m in Merchant.objects.select_related("fee_plan").filter(id__in=[s.merchant_id for s in shops])}
    pairs = [(found[s.merchant_id], s.terminal_id) for s in shops]
    seq = itertools.count()
    sale, request = services.sale, services.SaleRequest

    def one() -> None:
        i = next(seq)
        merchant, tid = pairs[i % len(pairs)]
        p, replayed = sale(merchant=merchant, idempotency_key=f"bench-online:{tag}:{i}",
                           req=request(terminal_id=tid, **sale_fields(i, rng)))
        if replayed or p.status != "approved":
            raise RuntimeError(f"sale {i}: {p.status} {p.response_code} replayed={replayed}")

    return one


def ceiling(writer: PlainWriter, rng: random.Random) -> Callable[[], None]:
    pool = sale_amounts(4096, rng)
    seq = itertools.count()

    def one() -> None:
        writer.write((pool[next(seq) % 4096],))

    return one


def hordak(shops: Sequence[Shop], rng: random.Random) -> Callable[[], None]:
    from django.db import transaction
    from hordak.models import Account, Leg, Transaction
    from moneyed import Money

    def account(name: str, code: str, type_: str) -> Account:
        return Account.objects.create(name=name, code=code, type=type_, currencies=["CNY"])

    n = Account.objects.count()
    receivable = account("channel receivable", f"1{n:05d}", "AS")
    fee_income = account("fee income", f"4{n:05d}", "IN")
    payables = [account(f"merchant {s.merchant_no} payable", f"2{n + i:05d}", "LI") for i, s in enumerate(shops)]
    pool = [(Money(Decimal(a).scaleb(-2), "CNY"), Money(Decimal(a - f).scaleb(-2), "CNY"),
             Money(Decimal(f).scaleb(-2), "CNY")) for a, f in sale_amounts(4096, rng)]
    seq = itertools.count()

    def one() -> None:
        i = next(seq)
        gross, net, fee = pool[i % 4096]
        with transaction.atomic():
            tx = Transaction.objects.create(description=f"payment {i}")
            Leg.objects.create(transaction=tx, account=receivable, debit=gross)
            Leg.objects.create(transaction=tx, account=payables[i % len(payables)], credit=net)
            Leg.objects.create(transaction=tx, account=fee_income, credit=fee)

    return one
