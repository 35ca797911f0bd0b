"""API shapes for payments. Input rules are core.inputs' (amounts: integer fen, 12.0 and "12" refused);
the look-up references a payment is found by (Rrn, TerminalRef, StanRef) are core.inputs' too, as
the where-is-my-money look-up takes them as well."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from daozhang.core import pan
from daozhang.core.inputs import AmountFen, Code, Text
from daozhang.core.money import Money
from daozhang.payments.models import Payment, Reversal

Channel = Literal["card", "wechat", "alipay"]
EntryMode = Literal["swipe", "chip", "contactless", "qr"]
PaymentStatus = Literal["approved", "declined", "failed", "unknown", "voided", "reversed"]
# A reference to a terminal: 8 letters or digits (ISO 8583 field 41); one not yours is 404.
TerminalId = Annotated[str, Code(r"^[0-9A-Za-z]{8}$", "8-character terminal id (ISO 8583 field 41)")]
Stan = Annotated[str, Code(r"^[0-9]{6}$", "6-digit trace number from the terminal (ISO 8583 field 11)")]
Cursor = Annotated[str, Text(200, required=False, description="A page's next_cursor / prev_cursor, as given")]
Last4 = Annotated[str, Text(8, required=False, description="The card number's last four digits")]
CardNumber = Annotated[str, Text(32, required=False, description="Card PAN; used for the call, never stored",
                                  pan=pan.CARD)]
WalletCode = Annotated[str, Code(r"^[0-9]{16,24}$", "The payer's WeChat (18 digits) or Alipay (16-24) payment code",
                                 pan=pan.PAYMENT_CODE)]


class SaleIn(Schema):
    terminal_id: TerminalId
    stan: Stan
    amount: AmountFen
    channel: Channel = Field(description="card | wechat | alipay")
    entry_mode: EntryMode = Field(description="swipe | chip | contactless (cards) or qr (wallets)")
    card_number: CardNumber | None = None
    wallet_auth_code: WalletCode | None = None


class VoidIn(Schema):
    terminal_id: TerminalId


class ReversalIn(Schema):
    terminal_id: TerminalId
    original_stan: Stan
    amount: AmountFen | None = None


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
