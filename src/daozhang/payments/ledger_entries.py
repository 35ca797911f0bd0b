"""The ledger entry each payment event posts (docs/ledger.md).

sale:     Dr channel receivable (amount)  Cr merchant payable (amount − fee)  Cr fee income (fee)
void / reversal of a booked sale: the same legs, opposite signs.
Every leg is on the merchant's own accounts, the platform's side included (ledger.accounts).
"""

from __future__ import annotations

import datetime as dt
import uuid

from daozhang.ledger.accounts import channel_receivable, fee_income, merchant_payable
from daozhang.ledger.models import Entry
from daozhang.ledger.services import Leg, NewEntry, reversal_legs


def sale_entry(*, payment_id: uuid.UUID, merchant_id: uuid.UUID, channel: str, amount: int,
               fee: int, business_date: dt.date) -> NewEntry:
    legs = [Leg(channel_receivable(merchant_id, channel), amount), Leg(merchant_payable(merchant_id), -(amount - fee))]
    if fee:
        legs.append(Leg(fee_income(merchant_id), -fee))
    return NewEntry(
        kind="payment.sale", idempotency_key=f"payment:{payment_id}:sale",
        business_ref=f"payment:{payment_id}", business_date=business_date,
        legs=tuple(legs), merchant_id=merchant_id,
    )


def undo_entry(*, payment_id: uuid.UUID, merchant_id: uuid.UUID, kind: str,
               business_date: dt.date) -> NewEntry:
    """Undo the sale entry of `payment_id` (kind is "void" or "reversal")."""

    sale = Entry.objects.get(merchant_id=merchant_id, idempotency_key=f"payment:{payment_id}:sale")
    return NewEntry(
        kind=f"payment.{kind}", idempotency_key=f"payment:{payment_id}:{kind}",
        business_ref=f"payment:{payment_id}", business_date=business_date,
        legs=reversal_legs(merchant_id, sale.id), merchant_id=merchant_id,
    )
