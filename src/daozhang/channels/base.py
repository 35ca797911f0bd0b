"""One interface for every external payment party (card network, WeChat Pay, Alipay).

Services talk only to `PaymentChannel`; which implementation answers is configuration
(`CHANNEL_BACKENDS`). The sandbox ships with the product; a production adapter for a
real network implements the same four calls.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class Outcome(enum.StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"  # the issuer or wallet said no: no money moved
    UNKNOWN = "unknown"  # no answer in time: money may have moved, reverse or confirm
    FAILED = "failed"  # the channel could not process it: no money moved


@dataclass(frozen=True, slots=True)
class AuthRequest:
    payment_id: uuid.UUID
    merchant_no: str
    terminal_id: str
    stan: str
    amount_fen: int
    currency: str
    entry_mode: str
    pan: str | None = None  # held in memory for the call only, never stored
    wallet_auth_code: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelResult:
    outcome: Outcome
    response_code: str
    message: str = ""
    rrn: str = ""
    auth_code: str = ""
    channel_txn_id: str = ""
    card_type: str = ""  # "debit" / "credit" for cards, from the BIN


@dataclass(frozen=True, slots=True)
class OriginalRef:
    """What a void, reversal or status query needs to find the original at the channel."""

    payment_id: uuid.UUID | None
    terminal_id: str
    stan: str
    amount_fen: int
    rrn: str = ""
    channel_txn_id: str = ""


class PaymentChannel(Protocol):
    name: str

    def authorize(self, req: AuthRequest) -> ChannelResult: ...
    def void(self, original: OriginalRef) -> ChannelResult: ...
    def reverse(self, original: OriginalRef) -> ChannelResult: ...
    def query(self, original: OriginalRef) -> ChannelResult: ...


CHANNELS = ("card", "wechat", "alipay")


@cache
def get_channel(name: str) -> PaymentChannel:
    cls = import_string(settings.CHANNEL_BACKENDS[name])
    channel: PaymentChannel = cls()
    return channel
