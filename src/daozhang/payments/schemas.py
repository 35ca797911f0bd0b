"""API shapes for payments. Amounts are integer fen (StrictInt: 12.0 and "12" are refused)."""

from __future__ import annotations

import datetime as dt
import uuid

from ninja import Schema
from pydantic import Field, StrictInt

from daozhang.core.money import Money
from daozhang.payments.models import Payment, Reversal


class SaleIn(Schema):
    terminal_id: str = Field(description="8-character terminal id (ISO 8583 field 41)")
    stan: str = Field(description="6-digit trace number from the terminal (field 11)")
    amount: StrictInt = Field(description="Amount in fen, > 0")
    channel: str = Field(description="card | wechat | alipay")
    entry_mode: str = Field(description="swipe | chip | contactless (cards) or qr (wallets)")
    card_number: str | None = Field(None, description="Card PAN; used for the call, never stored")
    wallet_auth_code: str | None = Field(None, description="The payer's WeChat/Alipay payment code")


class VoidIn(Schema):
    terminal_id: str


class ReversalIn(Schema):
    terminal_id: str
    original_stan: str
    amount: StrictInt | None = None


class PaymentOut(Schema):
    id: uuid.UUID
    terminal_id: str
    stan: str
    channel: str
    entry_mode: str
    card_type: str
    masked_pan: str
    amount: int
    amount_display: str
    fee: int
    fee_rule: str
    net: int
    currency: str
    status: str
    response_code: str
    response_message: str
    rrn: str
    auth_code: str
    business_date: dt.date
    created_at: dt.datetime

    @staticmethod
    def of(p: Payment) -> dict[str, object]:
        return {
            "id": p.id, "terminal_id": p.terminal.terminal_id, "stan": p.stan, "channel": p.channel,
            "entry_mode": p.entry_mode, "card_type": p.card_type, "masked_pan": p.masked_pan,
            "amount": p.amount, "amount_display": Money(p.amount).display(), "fee": p.fee,
            "fee_rule": p.fee_rule, "net": p.net, "currency": p.currency,
            "status": p.status, "response_code": p.response_code,
            "response_message": p.response_message, "rrn": p.rrn, "auth_code": p.auth_code,
            "business_date": p.business_date, "created_at": p.created_at,
        }


class PaymentPage(Schema):
    items: list[PaymentOut]
    next_cursor: str | None  # older payments: pass as `cursor`
    prev_cursor: str | None = None  # newer payments: pass as `before`


class ReversalOut(Schema):
    id: uuid.UUID
    payment_id: uuid.UUID | None
    original_stan: str
    outcome: str
    response_code: str
    created_at: dt.datetime

    @staticmethod
    def of(r: Reversal) -> dict[str, object]:
        return {"id": r.id, "payment_id": r.payment_id, "original_stan": r.original_stan,
                "outcome": r.outcome, "response_code": r.response_code, "created_at": r.created_at}


class ErrorBody(Schema):
    code: str
    field: str | None
    message: str


class ErrorOut(Schema):
    error: ErrorBody
