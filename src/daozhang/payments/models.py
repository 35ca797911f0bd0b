"""Payments (sales) and the reversals terminals send."""

from __future__ import annotations

from django.db import models

from daozhang.core.ids import new_id
from daozhang.core.keyed import MerchantKeyed


class Channel(models.TextChoices):
    CARD = "card", "Bank card 银行卡"
    WECHAT = "wechat", "WeChat Pay 微信支付"
    ALIPAY = "alipay", "Alipay 支付宝"


class EntryMode(models.TextChoices):
    """ISO 8583 field 22: 02 magstripe, 05 contact chip, 07 contactless (QuickPass)."""

    SWIPE = "swipe", "Swipe 刷卡"
    CHIP = "chip", "Chip 插卡"
    CONTACTLESS = "contactless", "QuickPass 闪付"
    QR = "qr", "QR 扫码"


class CardType(models.TextChoices):
    DEBIT = "debit", "Debit 借记卡"
    CREDIT = "credit", "Credit 贷记卡"


class PaymentStatus(models.TextChoices):
    APPROVED = "approved", "Approved 成功"
    DECLINED = "declined", "Declined 拒绝"
    FAILED = "failed", "Failed 失败"
    UNKNOWN = "unknown", "Unknown 结果未知"
    VOIDED = "voided", "Voided 已撤销"
    REVERSED = "reversed", "Reversed 已冲正"


class Payment(MerchantKeyed):
    """One card or wallet sale. Keyed (merchant_id, id) on PostgreSQL (payments 0004)."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    # No single-column indexes on these two: every query and foreign-key check by merchant or
    # terminal is served by the composite indexes below that lead with it (payment_idempotency,
    # pay_terminal_stan), and each index is one more write per sale.
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="payments",
                                 db_index=False)
    terminal = models.ForeignKey("terminals.Terminal", on_delete=models.PROTECT, related_name="payments",
                                 db_index=False)
    idempotency_key = models.CharField(max_length=120)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    entry_mode = models.CharField(max_length=12, choices=EntryMode.choices)
    card_type = models.CharField(max_length=6, choices=CardType.choices, blank=True, default="")
    amount = models.BigIntegerField()
    fee = models.BigIntegerField(default=0)
    fee_rule = models.CharField(max_length=40, blank=True, default="")
    currency = models.CharField(max_length=3, default="CNY")
    status = models.CharField(max_length=10, choices=PaymentStatus.choices)
    response_code = models.CharField(max_length=2)
    response_message = models.CharField(max_length=120, blank=True, default="")
    stan = models.CharField(max_length=6)
    rrn = models.CharField(max_length=12, blank=True, default="")
    auth_code = models.CharField(max_length=6, blank=True, default="")
    channel_txn_id = models.CharField(max_length=64, blank=True, default="")
    # Never the full card number: first six and last four, plus a keyed HMAC for matching.
    masked_pan = models.CharField(max_length=19, blank=True, default="")
    last4 = models.CharField(max_length=4, blank=True, default="")
    pan_token = models.CharField(max_length=64, blank=True, default="")
    business_date = models.DateField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    voided_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    # Set when the sale is booked in the ledger: the date of the settlement batch that pays
    # it (business date, rolled to the next day after the merchant's cycle cut-off). Null
    # means never booked (declined, failed, unknown). A void or reversal of a booked sale
    # sets `undo_settlement_date`: the batch that deducts it.
    settlement_date = models.DateField(null=True, blank=True)
    undo_settlement_date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "idempotency_key"], name="payment_idempotency"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["merchant", "created_at"], name="pay_merchant_created"),
            models.Index(fields=["merchant", "business_date", "status"], name="pay_merchant_date_status"),
            models.Index(fields=["merchant", "last4"], name="pay_merchant_last4"),
            models.Index(fields=["merchant", "rrn"], name="pay_merchant_rrn"),
            models.Index(fields=["terminal", "stan", "business_date"], name="pay_terminal_stan"),
            models.Index(fields=["status", "created_at"], name="pay_status_created"),
            models.Index(fields=["settlement_date", "merchant"], include=["amount", "fee"],
                         condition=models.Q(settlement_date__isnull=False), name="pay_settlement"),
            models.Index(fields=["undo_settlement_date", "merchant"], include=["amount", "fee"],
                         condition=models.Q(undo_settlement_date__isnull=False), name="pay_undo_settlement"),
        ]

    @property
    def net(self) -> int:
        """What this payment adds to the merchant's money now: nothing unless it stands approved."""
        return self.amount - self.fee if self.status == PaymentStatus.APPROVED else 0


class ReversalOutcome(models.TextChoices):
    REVERSED = "reversed", "Sale reversed 已冲正"
    NOTHING_TO_UNDO = "nothing_to_undo", "Nothing to undo 原交易未扣款"
    ALREADY_UNDONE = "already_undone", "Already undone 已撤销/冲正"
    UNKNOWN_ORIGINAL = "unknown_original", "Original unknown, forwarded 原交易不存在，已转发通道"
    FAILED = "failed", "Channel failed, retry 通道失败，请重试"


class Reversal(MerchantKeyed):
    """A 冲正 from a terminal, recorded whether or not we know the original sale."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="reversals")
    terminal = models.ForeignKey("terminals.Terminal", on_delete=models.PROTECT, related_name="reversals")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="reversals")
    idempotency_key = models.CharField(max_length=120)
    original_stan = models.CharField(max_length=6)
    amount = models.BigIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=ReversalOutcome.choices)
    response_code = models.CharField(max_length=2)
    source = models.CharField(max_length=10, default="terminal")  # terminal | worker
    business_date = models.DateField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "idempotency_key"], name="reversal_idempotency"),
        ]
        indexes = [models.Index(fields=["terminal", "original_stan", "business_date"], name="rev_terminal_stan")]


class PaymentEvent(MerchantKeyed):
    """The append-only timeline of a payment: what happened, when, with which code."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events")
    merchant_id = models.UUIDField()
    at = models.DateTimeField()
    kind = models.CharField(max_length=30)
    response_code = models.CharField(max_length=2, blank=True, default="")
    detail = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["payment", "at"], name="pay_event_payment_at")]
