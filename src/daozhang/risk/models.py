"""Funds frozen by risk or compliance (冻结), as a ledger state the merchant can see."""

from __future__ import annotations

from django.db import models

from daozhang.core.ids import new_id
from daozhang.core.keyed import MerchantKeyed


class RiskHold(MerchantKeyed):
    """An amount of a merchant's unsettled money held back from settlement until released.

    Settlement deducts it in the batch of `settlement_date` and adds it back in the batch
    of `release_settlement_date`; the ledger moves it to and from the frozen account.
    Keyed (merchant_id, id) on PostgreSQL (risk migration 0002); its foreign key to the
    payment follows when payments are converted (MerchantKeys on payments_payment).
    """

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="risk_holds")
    payment = models.ForeignKey("payments.Payment", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="risk_holds")
    amount = models.BigIntegerField()
    case_ref = models.CharField(max_length=40)
    reason = models.CharField(max_length=300)
    created_by = models.CharField(max_length=120)
    created_at = models.DateTimeField()
    settlement_date = models.DateField()
    released_by = models.CharField(max_length=120, blank=True, default="")
    release_note = models.CharField(max_length=300, blank=True, default="")
    released_at = models.DateTimeField(null=True, blank=True)
    release_settlement_date = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["merchant", "created_at"], name="hold_merchant_created"),
            models.Index(fields=["settlement_date", "merchant"], name="hold_settlement"),
            models.Index(fields=["release_settlement_date", "merchant"], name="hold_release_settlement"),
        ]
