"""Reads of payments: filters, look-ups and the CSV export, always scoped to a merchant."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import QuerySet

from daozhang.core.clock import business_tz
from daozhang.core.errors import DomainError
from daozhang.core.money import Money
from daozhang.core.pages import Page, keyset
from daozhang.merchants.models import Merchant
from daozhang.payments.models import Channel, Payment, PaymentStatus


@dataclass(frozen=True)
class PaymentFilter:
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    status: str | None = None
    channel: str | None = None
    amount_min: int | None = None
    amount_max: int | None = None
    last4: str | None = None
    terminal_id: str | None = None

    def validate(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise DomainError("date_range", "date_from")
        if self.status and self.status not in PaymentStatus.values:
            raise DomainError("invalid", "status")
        if self.channel and self.channel not in Channel.values:
            raise DomainError("invalid", "channel")
        for name in ("amount_min", "amount_max"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise DomainError("not_positive", name)
        if self.amount_min is not None and self.amount_max is not None and self.amount_min > self.amount_max:
            raise DomainError("amount_range", "amount_min")
        if self.last4 is not None and not (len(self.last4) == 4 and self.last4.isdigit()):
            raise DomainError("bad_last4", "last4")


def payments_for(merchant: Merchant, f: PaymentFilter) -> QuerySet[Payment]:
    f.validate()
    qs = Payment.objects.filter(merchant=merchant)
    # The business date is the Shanghai date of created_at, so the same range also bounds
    # created_at: that is what lets the (merchant, created_at) index serve a date-filtered,
    # newest-first page instead of sorting the whole range (bench/portal.py).
    if f.date_from:
        qs = qs.filter(business_date__gte=f.date_from, created_at__gte=_midnight(f.date_from))
    if f.date_to:
        qs = qs.filter(business_date__lte=f.date_to, created_at__lt=_midnight(f.date_to + dt.timedelta(days=1)))
    if f.status:
        qs = qs.filter(status=f.status)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.amount_min is not None:
        qs = qs.filter(amount__gte=f.amount_min)
    if f.amount_max is not None:
        qs = qs.filter(amount__lte=f.amount_max)
    if f.last4:
        qs = qs.filter(last4=f.last4)
    if f.terminal_id:
        qs = qs.filter(terminal__terminal_id=f.terminal_id.upper())
    return qs


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=business_tz())


def page(qs: QuerySet[Payment], cursor: str | None, limit: int, *, before: str | None = None) -> Page[Payment]:
    """A merchant's payments, newest first, a keyset page at a time (`core.pages`): `cursor`
    (a page's `next`) gives the older rows, `before` (its `prev`) the newer ones."""
    if not 1 <= limit <= 500:
        raise DomainError("invalid", "limit")
    return keyset(qs.select_related("terminal"), ("-created_at", "-id"), after=cursor, before=before, size=limit)


def lookup(merchant: Merchant, *, rrn: str | None = None, terminal_id: str | None = None,
           stan: str | None = None, business_date: dt.date | None = None) -> list[Payment]:
    if any("\x00" in (v or "") for v in (rrn, terminal_id, stan)):
        return []
    qs = Payment.objects.select_related("terminal").filter(merchant=merchant)
    if rrn:
        qs = qs.filter(rrn=rrn)
    elif terminal_id and stan:
        qs = qs.filter(terminal__terminal_id=terminal_id.upper(), stan=stan)
        if business_date:
            qs = qs.filter(business_date=business_date)
    else:
        raise DomainError("required", "rrn")
    return list(qs.order_by("-created_at")[:50])


CSV_HEADER = [
    "payment_id", "created_at", "business_date", "terminal_id", "stan", "rrn", "channel",
    "entry_mode", "card_type", "masked_pan", "status", "response_code", "amount", "fee", "net",
]


def export_csv(qs: QuerySet[Payment]) -> Iterator[str]:
    """CSV rows streamed in chunks; amounts in yuan with two decimals, exact from fen."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_HEADER)
    yield "\ufeff" + buf.getvalue()  # BOM: Excel opens UTF-8 Chinese text correctly
    tz = business_tz()
    for p in qs.select_related("terminal").order_by("created_at", "id").iterator(chunk_size=2000):
        buf.seek(0)
        buf.truncate()
        w.writerow([
            p.id, p.created_at.astimezone(tz).isoformat(timespec="seconds"), p.business_date,
            p.terminal.terminal_id, p.stan, p.rrn, p.channel, p.entry_mode, p.card_type,
            p.masked_pan, p.status, p.response_code, Money(p.amount).yuan_str(),
            Money(p.fee).yuan_str(), Money(p.net).yuan_str(),
        ])
        yield buf.getvalue()
