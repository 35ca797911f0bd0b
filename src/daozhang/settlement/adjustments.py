"""Manual adjustments (人工调账): a credit or debit to a merchant, by a named person, for a reason."""

from __future__ import annotations

import uuid

from django.db import transaction

from daozhang.audit import services as audit
from daozhang.core import clock
from daozhang.core.errors import DomainError
from daozhang.core.events import emit
from daozhang.core.money import MAX_AMOUNT_FEN
from daozhang.ledger.accounts import adjustments_account, merchant_payable
from daozhang.ledger.services import Leg, NewEntry, post_entry
from daozhang.merchants.models import Merchant
from daozhang.settlement.models import Adjustment
from daozhang.settlement.stamping import settlement_date_of


def adjust(*, merchant_id: uuid.UUID, amount: object, reason: str, actor: str) -> Adjustment:
    """Positive amounts credit the merchant, negative ones deduct; paid with the next batch."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise DomainError("not_integer_fen", "amount")
    if amount == 0:
        raise DomainError("zero_adjustment", "amount")
    if abs(amount) > MAX_AMOUNT_FEN:
        raise DomainError("too_large", "amount")
    if not reason.strip():
        raise DomainError("required", "reason")
    merchant = Merchant.objects.filter(id=merchant_id).first()
    if merchant is None:
        raise DomainError("unknown_merchant", "merchant_id", status=404)
    with transaction.atomic():
        now = clock.now()
        adj = Adjustment.objects.create(
            merchant=merchant, amount=amount, reason=reason.strip()[:300], created_by=actor, created_at=now,
            settlement_date=settlement_date_of(merchant_id=merchant.id, cycle=merchant.settlement_cycle, at=now))
        post_entry(NewEntry(kind="settlement.adjustment", idempotency_key=f"adjustment:{adj.id}",
                            business_ref=f"adjustment:{adj.id}", business_date=clock.business_date(now),
                            merchant_id=merchant.id,
                            legs=(Leg(adjustments_account(), amount), Leg(merchant_payable(merchant.id), -amount))))
        audit.record(actor=actor, action="settlement.adjust", obj_type="adjustment", obj_id=adj.id,
                     merchant_id=merchant.id, after={"amount": amount, "reason": adj.reason})
        emit("adjustment", merchant_id=merchant.id,
             data={"adjustment_id": str(adj.id), "amount": amount, "reason": adj.reason, "actor": actor})
    return adj
