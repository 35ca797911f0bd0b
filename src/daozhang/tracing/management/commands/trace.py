"""`daozhang trace REF`: where is this money? REF is a payment id, an RRN, TERMINAL:STAN,
a batch id, or MERCHANT_NO:YYYY-MM-DD."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from daozhang.core.errors import DomainError
from daozhang.merchants.models import Merchant
from daozhang.payments.models import Payment
from daozhang.payments.services import payments_in_binding
from daozhang.settlement.models import SettlementBatch
from daozhang.terminals.models import Terminal
from daozhang.tracing.trace import Trace, trace_batch, trace_day, trace_payment


def _by_terminal_and_stan(tid: str, stan: str) -> Payment | None:
    """The payment with this STAN on this terminal while bound to its current merchant (STANs
    restart when a terminal moves; an unbound terminal's latest use is what staff mean)."""
    terminal = Terminal.objects.select_related("merchant").filter(terminal_id=tid.upper()).first()
    if terminal is None:
        return None
    qs = (payments_in_binding(terminal.merchant, terminal) if terminal.merchant is not None
          else Payment.objects.filter(terminal=terminal))
    return qs.filter(stan=stan).order_by("-created_at").first()


def resolve(ref: str) -> Trace:
    if ":" in ref:
        left, right = ref.split(":", 1)
        merchant = Merchant.objects.filter(merchant_no=left).first()
        if merchant is not None:
            return trace_day(merchant, dt.date.fromisoformat(right))
        p = _by_terminal_and_stan(left, right)
        if p is not None:
            return trace_payment(p.merchant, p.id)
        raise CommandError(f"nothing found for {ref} / 未找到")
    try:
        as_id = uuid.UUID(ref)
    except ValueError:
        as_id = None
    if as_id is not None:
        p = Payment.objects.filter(id=as_id).select_related("merchant").first()
        if p is not None:
            return trace_payment(p.merchant, p.id)
        b = SettlementBatch.objects.filter(id=as_id).select_related("merchant").first()
        if b is not None:
            return trace_batch(b.merchant, b.id)
    p = Payment.objects.filter(rrn=ref).select_related("merchant").order_by("-created_at").first()
    if p is not None:
        return trace_payment(p.merchant, p.id)
    raise CommandError(f"nothing found for {ref} / 未找到")


class Command(BaseCommand):
    help = "Where is my money: trace a payment, a batch or a merchant's day"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ref", help="payment id | RRN | TERMINAL:STAN | batch id | MERCHANT_NO:YYYY-MM-DD")
        parser.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the answer (default zh)")
        parser.add_argument("--json", action="store_true", help="the trace as JSON, as the API answers it")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            trace = resolve(opts["ref"])
        except (ValueError, DomainError) as exc:
            raise CommandError(f"cannot trace {opts['ref']}: {exc}") from exc
        out = trace.render("zh-hans" if opts["lang"] == "zh" else "en")
        if opts["json"]:
            self.stdout.write(json.dumps(out, ensure_ascii=False, indent=2))
            return
        c = out["cause"]
        self.stdout.write(f"{c['title']}  [{c['code']}]  {out['amount_display']}")
        self.stdout.write(c["explanation"])
        self.stdout.write(f"→ {c['next_step']}")
        if out["expected_arrival"]:
            self.stdout.write(f"expected / 预计到账: {out['expected_arrival']}")
        for note in out["notes"]:
            self.stdout.write(f"  * {note['title']}: {note['explanation']}")
        self.stdout.write("")
        for ev in out["timeline"]:
            self.stdout.write(f"  {ev['at'][:16].replace('T', ' ')}  {ev['event']}")
