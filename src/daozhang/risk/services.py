"""Freezing and releasing merchant funds (staff actions, audited, posted to the ledger)."""

from __future__ import annotations

import uuid

from django.db import transaction

from daozhang.audit import services as audit
from daozhang.core import clock
from daozhang.core.errors import DomainError
from daozhang.core.events import emit
from daozhang.core.money import MoneyError, validate_amount_fen
from daozhang.ledger.accounts import merchant_frozen, merchant_payable
from daozhang.ledger.selectors import merchant_payable_balance
from daozhang.ledger.services import Leg, NewEntry, post_entry
from daozhang.merchants.models import Merchant
from daozhang.payments.models import Payment, PaymentStatus
from daozhang.risk.models import RiskHold
from daozhang.settlement.stamping import settlement_date_of


def hold_funds(*, merchant_id: uuid.UUID, amount: object, case_ref: str, reason: str, actor: str,
               payment_id: uuid.UUID | None = None) -> RiskHold:
    """Freeze `amount` of the merchant's unsettled money (or one payment's net)."""
    merchant = Merchant.objects.filter(id=merchant_id).first()
    if merchant is None:
        raise DomainError("unknown_merchant", "merchant_id", status=404)
    payment = None
    if payment_id is not None:
        payment = Payment.objects.filter(id=payment_id, merchant=merchant, status=PaymentStatus.APPROVED).first()
        if payment is None:
            raise DomainError("not_found", "payment_id", status=404)
        amount = payment.amount - payment.fee
    try:
        fen = validate_amount_fen(amount)
    except MoneyError as exc:
        raise DomainError(exc.reason, "amount") from exc
    if not case_ref.strip() or not reason.strip():
        raise DomainError("required", "case_ref" if not case_ref.strip() else "reason")
    with transaction.atomic():
        Merchant.objects.select_for_update().get(id=merchant.id)  # one freeze at a time per merchant
        if fen > merchant_payable_balance(merchant.id):
            raise DomainError("hold_exceeds_unsettled", "amount", status=409)
        now = clock.now()
        hold = RiskHold.objects.create(
            merchant=merchant, payment=payment, amount=fen, case_ref=case_ref.strip()[:40],
            reason=reason.strip()[:300], created_by=actor, created_at=now,
            settlement_date=settlement_date_of(merchant_id=merchant.id, cycle=merchant.settlement_cycle, at=now))
        post_entry(NewEntry(kind="risk.hold", idempotency_key=f"hold:{hold.id}", business_ref=f"hold:{hold.id}",
                            business_date=clock.business_date(now), merchant_id=merchant.id,
                            legs=(Leg(merchant_payable(merchant.id), fen), Leg(merchant_frozen(merchant.id), -fen))))
        audit.record(actor=actor, action="risk.hold", obj_type="risk_hold", obj_id=hold.id, merchant_id=merchant.id,
                     after={"amount": fen, "case_ref": hold.case_ref, "reason": hold.reason,
                            "payment_id": str(payment.id) if payment else None})
        emit("funds_frozen", merchant_id=merchant.id,
             data={"hold_id": str(hold.id), "amount": fen, "case_ref": hold.case_ref, "reason": hold.reason})
    return hold


def release_hold(*, hold_id: uuid.UUID, note: str, actor: str) -> RiskHold:
    with transaction.atomic():
        hold = RiskHold.objects.select_related("merchant").lock(id=hold_id)
        if hold is None:
            raise DomainError("not_found", "hold_id", status=404)
        if hold.released_at is not None:
            return hold
        now = clock.now()
        m = hold.merchant
        hold.released_at, hold.released_by, hold.release_note = now, actor, note.strip()[:300]
        hold.release_settlement_date = settlement_date_of(merchant_id=m.id, cycle=m.settlement_cycle, at=now)
        hold.save()
        post_entry(NewEntry(kind="risk.release", idempotency_key=f"hold:{hold.id}:release",
                            business_ref=f"hold:{hold.id}", business_date=clock.business_date(now), merchant_id=m.id,
                            legs=(Leg(merchant_frozen(m.id), hold.amount), Leg(merchant_payable(m.id), -hold.amount))))
        audit.record(actor=actor, action="risk.release", obj_type="risk_hold", obj_id=hold.id, merchant_id=m.id,
                     before={"released": False}, after={"released": True, "note": hold.release_note})
        emit("funds_released", merchant_id=m.id,
             data={"hold_id": str(hold.id), "amount": hold.amount, "case_ref": hold.case_ref})
    return hold
