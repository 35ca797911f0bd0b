"""Sales, voids, reversals and the resolution of unknown payments.

Every function that moves money does it in one transaction: the payment row changes and
its ledger entry is posted together. Channel calls happen outside the transaction (a
database lock must never wait on a network), and every call is idempotent twice over: the
API's Idempotency-Key is unique per merchant on the payment row, and every ledger entry
has its own idempotency key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from daozhang.channels.base import (
    CHANNELS,
    AuthRequest,
    ChannelResult,
    OriginalRef,
    Outcome,
    get_channel,
)
from daozhang.core import clock
from daozhang.core.db import execute_server_bound
from daozhang.core.errors import DomainError, NotFound
from daozhang.core.ids import new_id
from daozhang.core.money import MoneyError, validate_amount_fen
from daozhang.core.once import Claim
from daozhang.dates.cycles import cutoff_moment, settlement_date_for
from daozhang.ledger.services import insert_with_entries, post_entry
from daozhang.merchants.models import Merchant, MerchantStatus
from daozhang.payments.cards import card_ref, clean_pan
from daozhang.payments.fees import fee_for
from daozhang.payments.ledger_entries import sale_entry, undo_entry
from daozhang.payments.models import (
    EntryMode,
    Payment,
    PaymentEvent,
    PaymentStatus,
    Reversal,
    ReversalOutcome,
)
from daozhang.settlement.stamping import OPEN_DATE_SQL, open_date_params, settlement_date_of
from daozhang.terminals.models import Terminal, TerminalStatus

log = logging.getLogger(__name__)

_STAN = re.compile(r"[0-9]{6}")  # fullmatch, ASCII digits only
# Payment codes the payer shows: WeChat 18 digits starting 10–15; Alipay 16–24 digits
# starting 25–30.
_WALLET_CODE = {
    "wechat": re.compile(r"1[0-5][0-9]{16}"),
    "alipay": re.compile(r"(2[5-9]|30)[0-9]{14,22}"),
}
CARD_MODES = {EntryMode.SWIPE, EntryMode.CHIP, EntryMode.CONTACTLESS}


@dataclass(frozen=True)
class SaleRequest:
    terminal_id: str
    stan: str
    amount: object  # validated here: only a positive int of fen passes
    channel: str
    entry_mode: str
    card_number: str | None = None
    wallet_auth_code: str | None = None


def _amount(value: object) -> int:
    try:
        return validate_amount_fen(value)
    except MoneyError as exc:
        raise DomainError(exc.reason, "amount") from exc


def merchant_terminal(merchant: Merchant, tid: str, field: str = "terminal_id") -> Terminal:
    """A terminal of this merchant; another merchant's terminal is reported as unknown."""
    if not tid or "\x00" in tid:
        raise DomainError("unknown_terminal", field, status=404)
    terminal = Terminal.objects.filter(terminal_id=tid.upper()).first()
    if terminal is None or terminal.merchant_id != merchant.id:
        raise DomainError("unknown_terminal", field, status=404)
    return terminal


def _validate_sale(req: SaleRequest) -> tuple[int, str | None]:
    amount = _amount(req.amount)
    if req.channel not in CHANNELS:
        raise DomainError("invalid", "channel")
    if not _STAN.fullmatch(req.stan or ""):
        raise DomainError("invalid", "stan")
    pan = None
    if req.channel == "card":
        if req.entry_mode not in CARD_MODES:
            raise DomainError("invalid", "entry_mode")
        if req.wallet_auth_code:
            raise DomainError("channel_mismatch", "wallet_auth_code")
        if not req.card_number:
            raise DomainError("required", "card_number")
        pan = clean_pan(req.card_number)
    else:
        if req.entry_mode != EntryMode.QR:
            raise DomainError("invalid", "entry_mode")
        if req.card_number:
            raise DomainError("channel_mismatch", "card_number")
        if not _WALLET_CODE[req.channel].fullmatch(req.wallet_auth_code or ""):
            raise DomainError("invalid", "wallet_auth_code")
    return amount, pan


def sale(*, merchant: Merchant, idempotency_key: str, req: SaleRequest,
         claim: Claim | None = None) -> tuple[Payment, bool]:
    """Authorise a sale with its channel and book it. Returns (payment, replayed).

    Two round trips to the database for a new sale, both outside any transaction of ours:
    one query for the replay check and the terminal (`_lookup`), and after the channel's
    answer one statement that inserts the payment row together with its ledger entry
    (`ledger.services.insert_with_entries`) and, for an API call, the answer under its
    Idempotency-Key (`claim`): one transaction, one commit.
    """
    amount, pan = _validate_sale(req)
    replay_id, terminal = _lookup(merchant, idempotency_key, req.terminal_id, claim)
    if replay_id is not None:
        existing = Payment.objects.select_related("terminal").get(id=replay_id)
        return _replay(existing, req, amount, card_ref(pan).token if pan else None), True
    if merchant.status != MerchantStatus.ACTIVE:
        raise DomainError("merchant_not_active", "merchant", {"status": merchant.status}, 409)
    if terminal is None:
        raise DomainError("unknown_terminal", "terminal_id", status=404)
    if terminal.status != TerminalStatus.ACTIVE:
        raise DomainError("terminal_not_active", "terminal_id", {"status": terminal.status}, 409)

    payment_id = new_id()
    result = get_channel(req.channel).authorize(
        AuthRequest(
            payment_id=payment_id, merchant_no=merchant.merchant_no, terminal_id=terminal.terminal_id,
            stan=req.stan, amount_fen=amount, currency="CNY", entry_mode=req.entry_mode,
            pan=pan, wallet_auth_code=req.wallet_auth_code,
        )
    )
    card = card_ref(pan) if pan else None
    del pan
    now = clock.now()
    payment = Payment(
        id=payment_id, merchant=merchant, terminal=terminal, idempotency_key=idempotency_key,
        channel=req.channel, entry_mode=req.entry_mode, card_type=result.card_type, amount=amount,
        status=_status_of(result), response_code=result.response_code,
        response_message=result.message[:120], stan=req.stan, rrn=result.rrn,
        auth_code=result.auth_code, channel_txn_id=result.channel_txn_id,
        masked_pan=card.masked if card else "", last4=card.last4 if card else "",
        pan_token=card.token if card else "", business_date=clock.business_date(now),
        created_at=now, updated_at=now,
    )
    entries = []
    if payment.status == PaymentStatus.APPROVED:
        fee = fee_for(merchant.fee_plan, channel=req.channel, entry_mode=req.entry_mode,
                      card_type=result.card_type, amount_fen=amount)
        payment.fee, payment.fee_rule = fee.fen, fee.rule
        # The date the clock gives; the INSERT stamps the first open one from it, under the
        # date's lock (`settlement.stamping`: a run may close it while this sale is in flight).
        payment.settlement_date = settlement_date_for(now, merchant.settlement_cycle)
        entries.append(sale_entry(payment_id=payment.id, merchant_id=merchant.id, channel=payment.channel,
                                  amount=amount, fee=payment.fee, business_date=payment.business_date))
    wanted = payment.settlement_date
    try:
        # Inside a caller's transaction, a savepoint: a lost race must not abort the caller's work.
        also = [claim.insert_sql_of(payment)] if claim is not None else []
        with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
            if wanted is None:
                insert_with_entries(_PAYMENT_INSERT, _payment_row(payment), entries, also=also)
            else:
                insert_with_entries(_stamping_insert(), [*_payment_row(payment)[:-1],
                                                         *open_date_params(merchant.settlement_cycle, wanted)],
                                    entries, also=also)
    except IntegrityError:
        # A concurrent request with the same key won the race: answer with its result.
        winner = (Payment.objects.select_related("terminal")
                  .filter(merchant=merchant, idempotency_key=idempotency_key).first())
        if winner is None:
            raise
        return _replay(winner, req, amount, card.token if card else None), True
    if claim is not None:
        claim.inserted()
    if wanted is not None and clock.now() >= cutoff_moment(wanted, merchant.settlement_cycle):
        # Booked across the cut-off: the date may have been closed meanwhile and the INSERT
        # stamped a later one. Only then is it read back (one query, a few sales a day).
        payment.settlement_date = (Payment.objects.filter(id=payment.id)
                                   .values_list("settlement_date", flat=True).first())
    payment._state.adding, payment._state.db = False, connection.alias
    return payment, False


# The replay checks and the terminal in one query: the payment id already booked under this
# key (if any), the terminal with this id (if any; whose it is, is checked in Python), and
# the answer stored under the API request's key (core.once; none without a claim).
_LOOKUP = (
    "SELECT (SELECT p.id FROM payments_payment p WHERE p.merchant_id = %s AND p.idempotency_key = %s),"
    " t.id, t.terminal_id, t.merchant_id, t.status, r.request_hash, r.status_code, r.body"  # core.once.STORED_COLUMNS
    " FROM (SELECT 1) AS one LEFT JOIN terminals_terminal t ON t.terminal_id = %s"
    " LEFT JOIN core_idempotencyrecord r ON r.merchant_id = %s AND r.scope = %s AND r.key = %s"
)
# PostgreSQL, for an API call whose key is not claimed yet: the same, and the claim taken by
# the query itself (core.once.Claim.take_with; `daozhang_claim` tries the lock, then reads the
# stored answer with a snapshot of its own): a sale's whole claim costs no round trip.
_LOOKUP_CLAIMING = (
    "SELECT c.taken, (SELECT p.id FROM payments_payment p WHERE p.merchant_id = %s AND p.idempotency_key = %s),"
    " t.id, t.terminal_id, t.merchant_id, t.status, c.request_hash, c.status_code, c.body"
    " FROM daozhang_claim(%s, %s, %s, %s) AS c LEFT JOIN terminals_terminal t ON t.terminal_id = %s"
)
_TERMINAL_FIELDS = ("id", "terminal_id", "merchant_id", "status")  # in the model's field order (from_db)
_PAYMENT_COLUMNS = (
    "id", "merchant_id", "terminal_id", "idempotency_key", "channel", "entry_mode", "card_type", "amount", "fee",
    "fee_rule", "currency", "status", "response_code", "response_message", "stan", "rrn", "auth_code",
    "channel_txn_id", "masked_pan", "last4", "pan_token", "business_date", "created_at", "updated_at",
    "settlement_date",
)
_PAYMENT_INSERT = (
    f"INSERT INTO payments_payment ({', '.join(_PAYMENT_COLUMNS)})"  # noqa: S608 - constants and placeholders
    f" VALUES ({', '.join(['%s'] * len(_PAYMENT_COLUMNS))})"
)
# An approved sale: the settlement date (the last column) is the first open date from the
# one the clock gives, found by the INSERT itself under the date's lock (settlement.stamping).
_STAMPING_INSERT = {
    vendor: (f"INSERT INTO payments_payment ({', '.join(_PAYMENT_COLUMNS)})"  # noqa: S608 - constants and placeholders
             f" VALUES ({', '.join(['%s'] * (len(_PAYMENT_COLUMNS) - 1))}, {sql})")
    for vendor, sql in OPEN_DATE_SQL.items()
}


def _stamping_insert() -> str:
    return _STAMPING_INSERT["postgresql" if connection.vendor == "postgresql" else "sqlite"]


def _lookup(merchant: Merchant, key: str, tid: str,
            claim: Claim | None) -> tuple[uuid.UUID | None, Terminal | None]:
    """(id of the payment booked under this key, this merchant's terminal `tid`); an answer
    stored under the API request's key is replayed from here (`Claim.replay_if_stored`).

    Raw SQL, one round trip: the ORM's `.filter().first()` calls cost more client CPU than
    the database spends on all three. Another merchant's terminal is reported as unknown.
    """
    usable = tid.upper() if tid and "\x00" not in tid else None  # NULL matches no terminal
    sqlite = connection.vendor == "sqlite"
    mine: list[Any] = [None, None, None]  # no claim: no stored answer to look for
    if claim is not None:
        r = claim.request
        mine = [r.merchant_id.hex if sqlite else r.merchant_id, r.scope, r.key]
    if claim is not None and not claim.taken and not sqlite:
        def attempt(k: int) -> tuple[bool, tuple[Any, ...]]:
            ((taken, *row),) = execute_server_bound(_LOOKUP_CLAIMING, [merchant.id, key, k, *mine, usable],
                                                    prepare=True)
            return bool(taken), tuple(row)

        replay_id, pk, terminal_id, owner, status, *stored = claim.take_with(attempt)
    elif not sqlite:
        # Prepared: parsed and planned once per connection (core.db.execute_server_bound).
        ((replay_id, pk, terminal_id, owner, status, *stored),) = execute_server_bound(
            _LOOKUP, [merchant.id, key, usable, *mine], prepare=True)
    else:
        with connection.cursor() as cur:
            cur.execute(_LOOKUP, [merchant.id.hex, key, usable, *mine])
            replay_id, pk, terminal_id, owner, status, *stored = cur.fetchone()
        # SQLite stores uuids as hex text.
        replay_id, pk, owner = (uuid.UUID(v) if v is not None else None for v in (replay_id, pk, owner))
    if claim is not None:
        claim.replay_if_stored(*stored)
    if replay_id is not None:
        return replay_id, None
    if pk is None or owner != merchant.id:
        return None, None
    # Only these fields are loaded; any other is read from the database if asked for.
    return None, Terminal.from_db(connection.alias, _TERMINAL_FIELDS, (pk, terminal_id, owner, status))


def _payment_row(p: Payment) -> list[object]:
    """The values of `_PAYMENT_COLUMNS`, adapted for the database as the ORM would."""
    ops = connection.ops
    sqlite = connection.vendor == "sqlite"
    values: list[object] = []
    for name in _PAYMENT_COLUMNS:
        v = getattr(p, name)
        if isinstance(v, uuid.UUID):
            v = v.hex if sqlite else v
        elif isinstance(v, dt.datetime):
            v = ops.adapt_datetimefield_value(v)
        elif isinstance(v, dt.date):
            v = ops.adapt_datefield_value(v)
        values.append(v)
    return values


def _status_of(result: ChannelResult) -> str:
    return {
        Outcome.APPROVED: PaymentStatus.APPROVED,
        Outcome.DECLINED: PaymentStatus.DECLINED,
        Outcome.FAILED: PaymentStatus.FAILED,
        Outcome.UNKNOWN: PaymentStatus.UNKNOWN,
    }[result.outcome]


def _replay(existing: Payment, req: SaleRequest, amount: int, card_token: str | None) -> Payment:
    same = (
        existing.amount == amount and existing.channel == req.channel
        and existing.stan == req.stan and existing.terminal.terminal_id == (req.terminal_id or "").upper()
        and (card_token is None or card_token == existing.pan_token)
    )
    if not same:
        raise DomainError("idempotency_key_reused", "Idempotency-Key", status=422)
    return existing


def _original(p: Payment) -> OriginalRef:
    return OriginalRef(p.id, p.terminal.terminal_id, p.stan, p.amount, p.rrn, p.channel_txn_id)


def _event(p: Payment, kind: str, result: ChannelResult | None = None, detail: str = "") -> None:
    PaymentEvent.objects.create(
        payment=p, merchant_id=p.merchant_id, at=clock.now(), kind=kind,
        response_code=result.response_code if result else "",
        detail=(detail or (result.message if result else ""))[:200],
    )


def find_payment(merchant: Merchant, payment_id: uuid.UUID) -> Payment:
    p = Payment.objects.select_related("terminal").filter(merchant=merchant, id=payment_id).first()
    if p is None:
        raise NotFound("payment_id")
    return p


def void(*, merchant: Merchant, payment_id: uuid.UUID, terminal_id: str, actor: str = "",
         claim: Claim | None = None) -> Payment:
    """撤销: same business day, same terminal, full amount, of an approved sale. An API call's
    answer is recorded under its key (`claim`) in the transaction that books the void."""
    p = find_payment(merchant, payment_id)
    if p.status == PaymentStatus.VOIDED:
        return p  # a repeated void: already done, nothing moves again
    terminal = merchant_terminal(merchant, terminal_id)
    if terminal.id != p.terminal_id:
        raise DomainError("void_not_allowed", "terminal_id", {"detail": ("another terminal", "非原终端")}, 409)
    if p.status != PaymentStatus.APPROVED:
        raise DomainError("void_not_allowed", "payment_id", {"detail": (p.status, p.get_status_display())}, 409)
    if p.business_date != clock.business_date():
        raise DomainError("void_not_allowed", "payment_id", {"detail": ("not today", "非当日交易")}, 409)
    result = get_channel(p.channel).void(_original(p))
    if result.outcome != Outcome.APPROVED:
        _event(p, "void_failed", result)
        raise DomainError("channel_unavailable", None, status=503)
    with transaction.atomic():
        locked = Payment.objects.get_locked(id=p.id, merchant_id=p.merchant_id)
        if locked.status != PaymentStatus.APPROVED:
            return locked
        now = clock.now()
        locked.status, locked.voided_at, locked.updated_at = PaymentStatus.VOIDED, now, now
        locked.undo_settlement_date = settlement_date_of(merchant_id=merchant.id, cycle=merchant.settlement_cycle,
                                                         at=now)
        locked.save(update_fields=["status", "voided_at", "updated_at", "undo_settlement_date"])
        post_entry(undo_entry(payment_id=p.id, merchant_id=merchant.id, kind="void",
                              business_date=clock.business_date(now)))
        _event(locked, "voided", result, actor)
        if claim is not None:
            claim.record_of(locked)
    return locked


def reverse(*, merchant: Merchant, terminal_id: str, original_stan: str, idempotency_key: str,
            amount: object = None, source: str = "terminal", claim: Claim | None = None) -> Reversal:
    """冲正. Undo an approved or unknown sale; acknowledge and record any other case.

    A reversal for a sale we never recorded (we crashed, or the request was lost) is
    forwarded to the channel so a debited cardholder is made whole, and recorded. The
    original is looked for among this merchant's payments on this terminal since it was
    bound to the merchant: a re-bound terminal's earlier owner's sales are not reachable.
    """
    done = Reversal.objects.filter(merchant=merchant, idempotency_key=idempotency_key).first()
    if done is not None:
        return done
    if not _STAN.fullmatch(original_stan or ""):
        raise DomainError("invalid", "original_stan")
    fen = _amount(amount) if amount is not None else None
    terminal = merchant_terminal(merchant, terminal_id)
    today = clock.business_date()
    p = (
        payments_in_binding(merchant, terminal)
        .filter(stan=original_stan, business_date__in=[today, today - dt.timedelta(days=1)])
        .order_by("-created_at").first()
    )
    if p is not None and fen is not None and p.amount != fen:
        p = None  # the terminal reverses a different transaction that reused the trace number
    if p is None:
        ref = OriginalRef(None, terminal.terminal_id, original_stan, fen or 0)
        # Only card terminals send ISO 8583 reversals, so an orphan goes to the card network.
        result = get_channel("card").reverse(ref)
        if result.outcome == Outcome.FAILED:
            raise DomainError("channel_unavailable", None, status=503)
        return _record_reversal(merchant, terminal, None, idempotency_key, original_stan, fen,
                                ReversalOutcome.UNKNOWN_ORIGINAL, result.response_code, source, today, claim)
    return reverse_payment(p, idempotency_key=idempotency_key, source=source, amount=fen, claim=claim)


def payments_in_binding(merchant: Merchant, terminal: Terminal) -> QuerySet[Payment]:
    """This merchant's payments on this terminal during its current binding (a terminal
    moves between merchants: STANs restart and the earlier owner's sales are not ours)."""
    qs = Payment.objects.select_related("terminal").filter(merchant=merchant, terminal=terminal)
    return qs.filter(created_at__gte=terminal.bound_at) if terminal.bound_at else qs


def reverse_payment(p: Payment, *, idempotency_key: str, source: str, amount: int | None = None,
                    claim: Claim | None = None) -> Reversal:
    """Undo this very payment (the worker knows which one; a terminal only knows the STAN)."""
    done = Reversal.objects.filter(merchant_id=p.merchant_id, idempotency_key=idempotency_key).first()
    if done is not None:
        return done
    merchant, terminal, original_stan, fen = p.merchant, p.terminal, p.stan, amount
    today = clock.business_date()
    if p.status in (PaymentStatus.DECLINED, PaymentStatus.FAILED):
        return _record_reversal(merchant, terminal, p, idempotency_key, original_stan, fen,
                                ReversalOutcome.NOTHING_TO_UNDO, "00", source, today, claim)
    if p.status in (PaymentStatus.VOIDED, PaymentStatus.REVERSED):
        return _record_reversal(merchant, terminal, p, idempotency_key, original_stan, fen,
                                ReversalOutcome.ALREADY_UNDONE, "00", source, today, claim)
    result = get_channel(p.channel).reverse(_original(p))
    if result.outcome != Outcome.APPROVED:
        _event(p, "reversal_failed", result)
        raise DomainError("channel_unavailable", None, status=503)
    with transaction.atomic():
        locked = Payment.objects.get_locked(id=p.id, merchant_id=p.merchant_id)
        outcome = ReversalOutcome.ALREADY_UNDONE
        if locked.status in (PaymentStatus.APPROVED, PaymentStatus.UNKNOWN):
            was_booked = locked.status == PaymentStatus.APPROVED
            now = clock.now()
            locked.status, locked.reversed_at, locked.updated_at = PaymentStatus.REVERSED, now, now
            if was_booked:
                locked.undo_settlement_date = settlement_date_of(
                    merchant_id=merchant.id, cycle=merchant.settlement_cycle, at=now)
            locked.save(update_fields=["status", "reversed_at", "updated_at", "undo_settlement_date"])
            if was_booked:
                post_entry(undo_entry(payment_id=p.id, merchant_id=merchant.id, kind="reversal",
                                      business_date=clock.business_date(now)))
            _event(locked, "reversed", result, f"by {source}")
            outcome = ReversalOutcome.REVERSED
        return _record_reversal(merchant, terminal, locked, idempotency_key, original_stan, fen,
                                outcome, result.response_code, source, today, claim)


def _record_reversal(merchant: Merchant, terminal: Terminal, p: Payment | None, key: str, stan: str,
                     amount: int | None, outcome: str, code: str, source: str, day: dt.date,
                     claim: Claim | None) -> Reversal:
    try:
        with transaction.atomic():
            r = Reversal.objects.create(
                merchant=merchant, terminal=terminal, payment=p, idempotency_key=key,
                original_stan=stan, amount=amount, outcome=outcome, response_code=code,
                source=source, business_date=day, created_at=clock.now(),
            )
            if claim is not None:
                claim.record_of(r)  # the API's answer, in the same transaction
            return r
    except IntegrityError:
        return Reversal.objects.get(merchant=merchant, idempotency_key=key)


def resolve_unknown(payment_id: uuid.UUID) -> str:
    """Settle the fate of a payment left unknown by a timeout.

    Cards: the cardholder may have been debited but the terminal gave no goods, so the
    sale is reversed (the terminal should have done it; we do it when it did not).
    Wallets: the payer may still have confirmed; ask the wallet and book it if paid.
    """
    p = Payment.objects.select_related("terminal", "merchant", "merchant__fee_plan").get(id=payment_id)
    if p.status != PaymentStatus.UNKNOWN:
        return p.status
    if p.channel == "card":
        try:
            return reverse_payment(p, idempotency_key=f"auto-reversal:{p.id}", source="worker").outcome
        except DomainError:
            return PaymentStatus.UNKNOWN  # the channel is down: the next sweep tries again
    result = get_channel(p.channel).query(_original(p))
    if result.outcome == Outcome.FAILED:
        return PaymentStatus.UNKNOWN
    with transaction.atomic():
        locked = Payment.objects.get_locked(id=p.id, merchant_id=p.merchant_id)
        if locked.status != PaymentStatus.UNKNOWN:
            return locked.status
        now = clock.now()
        if result.outcome == Outcome.APPROVED:
            fee = fee_for(p.merchant.fee_plan, channel=p.channel, entry_mode=p.entry_mode,
                          card_type=p.card_type, amount_fen=p.amount)
            locked.status, locked.fee, locked.fee_rule = PaymentStatus.APPROVED, fee.fen, fee.rule
            locked.response_code, locked.rrn = result.response_code, result.rrn
            locked.auth_code, locked.channel_txn_id = result.auth_code, result.channel_txn_id
            locked.settlement_date = settlement_date_of(
                merchant_id=p.merchant_id, cycle=p.merchant.settlement_cycle, at=now)
            # Booked on the day it was confirmed: that is when the money became ours to settle.
            post_entry(sale_entry(payment_id=p.id, merchant_id=p.merchant_id, channel=p.channel,
                                  amount=p.amount, fee=fee.fen, business_date=clock.business_date(now)))
            _event(locked, "confirmed", result)
        else:
            locked.status, locked.response_code = PaymentStatus.DECLINED, result.response_code
            _event(locked, "closed", result, "payer did not pay / 付款人未完成支付")
        locked.updated_at = now
        locked.save()
    return locked.status


def stale_unknown_payments(older_than: dt.timedelta, limit: int = 500) -> list[uuid.UUID]:
    cutoff = clock.now() - older_than
    return list(
        Payment.objects.filter(status=PaymentStatus.UNKNOWN, created_at__lt=cutoff)
        .order_by("created_at").values_list("id", flat=True)[:limit]
    )
