"""Manual adjustments (人工调账): a credit or debit to a merchant, by a named person, for a reason.

Issue 11, item 9: one finance user could post an adjustment of any size alone. Above
`ADJUSTMENT_APPROVAL_FEN` (absolute amount; default ¥5,000) an adjustment is a request to
a second staff member (approvals, kind `settlement.adjustment`) and books nothing until
approved; the booking then runs in the approving transaction, exactly once, under the
maker's name with the checker's beside it. At or below the limit it books at once.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import transaction

from daozhang.approvals import services as approvals
from daozhang.approvals.models import ApprovalRequest
from daozhang.audit import services as audit
from daozhang.core import clock
from daozhang.core.errors import DomainError
from daozhang.core.events import emit
from daozhang.core.money import MAX_AMOUNT_FEN, Money
from daozhang.ledger.accounts import adjustments_account, merchant_payable
from daozhang.ledger.services import Leg, NewEntry, post_entry
from daozhang.merchants.models import Merchant
from daozhang.settlement.models import Adjustment
from daozhang.settlement.stamping import settlement_date_of

APPROVAL_KIND = "settlement.adjustment"
APPROVAL_PERMISSION = "settlement.approve_adjustment"


def approval_limit() -> int:
    return int(getattr(settings, "ADJUSTMENT_APPROVAL_FEN", 500_000))


def adjust(*, merchant_id: uuid.UUID, amount: object, reason: str, actor: str,
           actor_user_id: int | None = None) -> Adjustment | ApprovalRequest:
    """Positive amounts credit the merchant, negative ones deduct; paid with the next batch.

    Returns the booked `Adjustment`, or, above the approval limit, the pending
    `ApprovalRequest` (nothing booked). `actor_user_id` is the maker's user id, so the
    approval can refuse the same person as checker (their audit name is compared too).
    """
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
    text = reason.strip()[:300]
    if abs(amount) > approval_limit():
        shown = Money(amount).display()
        return approvals.request_approval(
            kind=APPROVAL_KIND, payload={"amount": amount, "reason": text}, merchant_id=merchant.id,
            maker=actor, maker_user_id=actor_user_id,
            summary_zh=f"对 {merchant.short_name}（{merchant.merchant_no}）{'调增' if amount > 0 else '调减'} "
                       f"{shown}：{text}",
            summary_en=f"{'Credit' if amount > 0 else 'Deduct'} {shown} {'to' if amount > 0 else 'from'} "
                       f"{merchant.short_name} ({merchant.merchant_no}): {text}")
    return _book(merchant, amount=amount, reason=text, actor=actor)


def _book(merchant: Merchant, *, amount: int, reason: str, actor: str, approved_by: str = "",
          approval_id: uuid.UUID | None = None) -> Adjustment:
    with transaction.atomic():
        now = clock.now()
        adj = Adjustment.objects.create(
            merchant=merchant, amount=amount, reason=reason, created_by=actor, created_at=now,
            approved_by=approved_by, approval_id=approval_id,
            settlement_date=settlement_date_of(merchant_id=merchant.id, cycle=merchant.settlement_cycle, at=now))
        # Keyed by the approval when there is one: a second booking of it is refused by the
        # ledger's unique idempotency key even if the approval's own guard were bypassed.
        key = f"adjustment-approval:{approval_id}" if approval_id else f"adjustment:{adj.id}"
        post_entry(NewEntry(kind="settlement.adjustment", idempotency_key=key,
                            business_ref=f"adjustment:{adj.id}", business_date=clock.business_date(now),
                            merchant_id=merchant.id,
                            legs=(Leg(adjustments_account(merchant.id), amount),
                                  Leg(merchant_payable(merchant.id), -amount))))
        audit.record(actor=actor, action="settlement.adjust", obj_type="adjustment", obj_id=adj.id,
                     merchant_id=merchant.id,
                     after={"amount": amount, "reason": adj.reason,
                            **({"approved_by": approved_by, "approval": str(approval_id)} if approval_id else {})})
        emit("adjustment", merchant_id=merchant.id,
             data={"adjustment_id": str(adj.id), "amount": amount, "reason": adj.reason, "actor": actor})
    return adj


def _approved(req: ApprovalRequest, actor: str) -> dict[str, Any]:
    merchant = Merchant.objects.filter(id=req.merchant_id).first() if req.merchant_id else None
    if merchant is None:
        raise DomainError("unknown_merchant", "merchant_id", status=404)
    adj = _book(merchant, amount=int(req.payload["amount"]), reason=str(req.payload["reason"]), actor=req.maker,
                approved_by=actor, approval_id=req.id)
    return {"adjustment_id": str(adj.id), "settlement_date": adj.settlement_date.isoformat()}


def register_approval_kind() -> None:
    approvals.register(approvals.Kind(
        name=APPROVAL_KIND, permission=APPROVAL_PERMISSION, label_zh="大额人工调账", label_en="Large adjustment",
        on_approve=_approved))
