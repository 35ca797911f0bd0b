"""Card numbers: validated, masked and tokenised the moment they arrive, then dropped.

PCI DSS: the full PAN is never stored or logged. We keep the first six (BIN) and last
four digits for people, and an HMAC-SHA256 under `PAN_TOKEN_KEY` so the same card can be
matched across payments (risk, reconciliation) without being recoverable.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from django.conf import settings
from stdnum import luhn

from daozhang.core.errors import DomainError

_PAN = re.compile(r"^\d{13,19}$")


@dataclass(frozen=True, slots=True)
class CardRef:
    masked: str
    last4: str
    token: str


def clean_pan(raw: str, field: str = "card_number") -> str:
    pan = re.sub(r"[\s-]", "", raw or "")
    if not _PAN.match(pan) or not luhn.is_valid(pan):
        raise DomainError("bad_card_number", field)
    return pan


def card_ref(pan: str) -> CardRef:
    masked = f"{pan[:6]}{'*' * (len(pan) - 10)}{pan[-4:]}"
    token = hmac.new(settings.PAN_TOKEN_KEY.encode(), pan.encode(), hashlib.sha256).hexdigest()
    return CardRef(masked, pan[-4:], token)


def pan_token(pan: str) -> str:
    return card_ref(pan).token
