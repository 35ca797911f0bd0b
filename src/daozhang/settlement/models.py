"""Settlement state: batches, payouts, adjustments, and the days settled."""

from __future__ import annotations

from django.db import models

from daozhang.core.ids import new_id
from daozhang.core.keyed import MerchantKeyed
from daozhang.settlement.sources import Figure, all_figures


class BatchStatus(models.TextChoices):
    CARRIED = "carried", "Carried forward 结转下期"
    DUE = "due", "Due for payout 待出款"
    IN_TRANSIT = "in_transit", "Payout in transit 出款中"
    PAID = "paid", "Paid 已到账"
    RETURNED = "returned", "Payout returned 出款退回"
    HELD = "held", "Held 暂缓出款"


class SettlementBatch(MerchantKeyed):
    """What one merchant is paid for one settlement date: every source's figures, signed,
    plus what an earlier batch carried forward, less the D0 fee.

    The net is computed set-based from the rows whose settlement date is this batch's
    (stamped when they were booked), plus whatever an earlier batch carried forward.
    Keyed (merchant_id, id) on PostgreSQL (migration 0012), and so are the payout's and
    the carried-to batch's keys to it.
    """

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    # Indexed by batch_merchant_date and batch_merchant_status, which lead with it: no third index.
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="batches",
                                 db_index=False)
    settlement_date = models.DateField()
    cycle = models.CharField(max_length=2)
    payout_date = models.DateField()
    # Each registered source's sums for the day, by figure key (`settlement.sources`):
    # {"sales_count": 3, "sales_amount": 35000, "fees": 175, …}. A key a source did not
    # contribute reads as 0 (`figure`).
    figures = models.JSONField(default=dict)
    d0_fee = models.BigIntegerField(default=0)
    carried_in = models.BigIntegerField(default=0)
    net = models.BigIntegerField()
    status = models.CharField(max_length=12, choices=BatchStatus.choices)
    # Indexed only where set (batch_carried_to): most batches are never carried.
    carried_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   db_index=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "settlement_date"], name="batch_merchant_date"),
        ]
        indexes = [
            models.Index(fields=["merchant", "status"], name="batch_merchant_status"),
            models.Index(fields=["payout_date", "status"], name="batch_payout_date_status"),
            # The carried batches not yet taken into a later one: what every settlement run
            # looks up per merchant. A handful of rows, however many batches history holds.
            models.Index(fields=["merchant", "settlement_date"], name="batch_open_carried",
                         condition=models.Q(status="carried", carried_to__isnull=True)),
            models.Index(fields=["carried_to"], name="batch_carried_to", condition=models.Q(carried_to__isnull=False)),
        ]

    def figure(self, key: str) -> int:
        return int(self.figures.get(key, 0))

    def parts(self) -> list[tuple[Figure, int]]:
        """Every registered figure with this batch's amount, in the sources' order (for display)."""
        return [(f, self.figure(f.key)) for f in all_figures()]


class PayoutStatus(models.TextChoices):
    SUBMITTING = "submitting", "Submitting 提交中"
    # Checked under the lock and handed to the bank: between that commit and the bank's
    # answer nobody may cancel it (the bank may be taking it right now).
    SENDING = "sending", "Being sent to the bank 正在发送银行"
    ACCEPTED = "accepted", "Accepted by bank 银行处理中"
    RETRYING = "retrying", "Bank unavailable, retrying 银行故障重试中"
    PAID = "paid", "Paid 已到账"
    RETURNED = "returned", "Returned 已退回"
    # Never reached the bank: refused by the checks before sending, or cancelled by staff
    # (`stop_reason` says which). The batch decides what happens next (held or due again).
    STOPPED = "stopped", "Stopped before sending 已拦截，未发送"


class Payout(MerchantKeyed):
    """One attempt to pay a batch to the merchant's bank account (a returned one is re-paid
    by a new attempt after the account is corrected)."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    batch = models.ForeignKey(SettlementBatch, on_delete=models.PROTECT, related_name="payouts")
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="payouts")
    attempt = models.PositiveSmallIntegerField(default=1)
    amount = models.BigIntegerField()
    account = models.ForeignKey("merchants.SettlementAccount", on_delete=models.PROTECT, related_name="payouts")
    status = models.CharField(max_length=12, choices=PayoutStatus.choices)
    bank_ref = models.CharField(max_length=40, blank=True, default="")
    return_code = models.CharField(max_length=8, blank=True, default="")
    return_reason = models.CharField(max_length=200, blank=True, default="")
    tries = models.PositiveSmallIntegerField(default=0)
    next_try_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    # Why a stopped attempt was not sent (`settlement.payouts.STOP_REASONS`), who stopped it
    # ("system:payout-checks" or a staff actor) and when.
    stop_reason = models.CharField(max_length=40, blank=True, default="")
    stop_detail = models.CharField(max_length=300, blank=True, default="")
    stopped_by = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "batch", "attempt"],
                                              name="payout_batch_attempt")]
        indexes = [
            models.Index(fields=["merchant", "created_at"], name="payout_merchant_created"),
            models.Index(fields=["status", "next_try_at"], name="payout_status_next"),
        ]


class Adjustment(MerchantKeyed):
    """A manual credit or deduction; keyed (merchant_id, id) on PostgreSQL (migration 0011)."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="adjustments")
    amount = models.BigIntegerField()  # + credits the merchant, − deducts
    reason = models.CharField(max_length=300)
    created_by = models.CharField(max_length=120)
    created_at = models.DateTimeField()
    settlement_date = models.DateField()
    # The second staff member, for an amount above ADJUSTMENT_APPROVAL_FEN (approvals).
    approved_by = models.CharField(max_length=120, blank=True, default="")
    approval_id = models.UUIDField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["settlement_date", "merchant"], name="adjustment_settlement")]
        permissions = [("approve_adjustment", "Approve a large manual adjustment 复核大额调账")]


class SettledDay(models.Model):
    """A settlement date the scheduled run has finished for one cycle: the watermark from
    which the worker catches up on days it missed while it was down."""

    cycle = models.CharField(max_length=2)
    day = models.DateField()
    finished_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "day"], name="settled_day_once")]


class ClosedDay(models.Model):
    """A settlement date a run has closed for one cycle: no money may be stamped with it
    any more (`settlement.stamping`). Written when the run starts, before it reads a row,
    under the lock every booking of that date holds until it commits (issue 11, item 8:
    a sale committed just after the cut-off while the run reads)."""

    cycle = models.CharField(max_length=2)
    day = models.DateField()
    closed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "day"], name="closed_day_once")]
