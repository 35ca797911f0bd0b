"""Merchants, their users, settlement bank accounts and fee plans."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from daozhang.core.crypto import EncryptedCharField
from daozhang.core.ids import new_id
from daozhang.core.keyed import MerchantKeyed


class FeePlan(models.Model):
    """Merchant service fee rates, in parts per million (0.38% = 3,800 ppm).

    Only contactless QuickPass at or below `quickpass_limit_fen` gets the discount rate;
    chip or swipe always pays the standard debit or credit rate (docs/money.md#fee-plans).
    """

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    wallet_rate_ppm = models.PositiveIntegerField(default=3800)
    quickpass_rate_ppm = models.PositiveIntegerField(default=3800)
    quickpass_limit_fen = models.BigIntegerField(default=100_000)
    debit_rate_ppm = models.PositiveIntegerField(default=5000)
    debit_cap_fen = models.BigIntegerField(null=True, blank=True, default=2000)
    credit_rate_ppm = models.PositiveIntegerField(default=6000)
    credit_cap_fen = models.BigIntegerField(null=True, blank=True, default=None)

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class SettlementCycle(models.TextChoices):
    T1 = "T1", "T+1"
    D0 = "D0", "D0"


class MerchantStatus(models.TextChoices):
    ACTIVE = "active", "Active 正常"
    SUSPENDED = "suspended", "Suspended 暂停"
    CLOSED = "closed", "Closed 已注销"


# The values unique across all merchants (core.unique): a merchant number is issued once, a
# licence's USCC onboards one merchant, a login belongs to one merchant. Claimed by the
# services in the transaction that writes the row; on a database distributed by merchant a
# unique key on these columns could not be enforced (merchants 0007 moved them here).
UNIQUE_MERCHANT_NO = "merchants.merchant_no"
UNIQUE_USCC = "merchants.uscc"
UNIQUE_USER = "merchants.user"  # a portal login's auth user id → its merchant


class Merchant(models.Model):
    """A merchant. Distributed by its own `id` on Citus. `merchant_no` and `uscc` are unique
    across the platform through the registry (`UNIQUE_MERCHANT_NO`, `UNIQUE_USCC`), not by a
    key of this table; neither is ever edited (the admin is read-only, no service changes
    them): one that changes must move its registry row in the same transaction."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    # ISO 8583 field 42: 3 acquirer + 4 region + 4 MCC + 4 sequence. Indexed for the lookups
    # by number (console, trace); unique through the registry.
    merchant_no = models.CharField(max_length=15, db_index=True)
    legal_name = models.CharField(max_length=200)
    short_name = models.CharField(max_length=60)
    uscc = models.CharField("USCC 统一社会信用代码", max_length=18)  # unique through the registry
    mcc = models.CharField(max_length=4)
    region_code = models.CharField(max_length=4)
    contact_name = models.CharField(max_length=60)
    contact_phone = models.CharField(max_length=20)
    contact_email = models.EmailField(blank=True, default="")
    address = models.CharField(max_length=200, blank=True, default="")
    fee_plan = models.ForeignKey(FeePlan, on_delete=models.PROTECT)
    settlement_cycle = models.CharField(
        max_length=2, choices=SettlementCycle.choices, default=SettlementCycle.T1
    )
    status = models.CharField(
        max_length=12, choices=MerchantStatus.choices, default=MerchantStatus.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.short_name} {self.merchant_no}"

    @property
    def is_company(self) -> bool:
        """A company (企业), not an individual business (个体工商户): read from the USCC, whose
        first two characters are the registering authority and the entity type, "92" being
        an individual business. A company is paid only into an account in its legal name."""
        return not self.uscc.startswith("92")


class BankAccountType(models.TextChoices):
    CORPORATE = "corporate", "Corporate 对公"
    PERSONAL = "personal", "Personal 对私"


class AccountStage(models.TextChoices):
    """Where a settlement account is on its way to being paid into (settlement.accounts)."""

    AWAITING_CODE = "awaiting_code", "Awaiting the owner's code 待输入验证码"
    AWAITING_REVIEW = "awaiting_review", "Awaiting staff review 待运营复核"
    VERIFYING = "verifying", "Bank verification 银行验证中"
    VERIFIED = "verified", "Verified 已生效"
    REJECTED = "rejected", "Not accepted 未通过"


class SettlementAccount(MerchantKeyed):
    """Where the merchant's money is paid. Only one is current at a time. Keyed
    (merchant_id, id) on PostgreSQL (migration 0005), and so is the payout's key to it."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="settlement_accounts")
    holder_name = models.CharField(max_length=200)
    # Encrypted at rest: a personal account is usually the merchant's debit card number.
    account_number = EncryptedCharField()
    bank_name = models.CharField(max_length=100)
    bank_branch_code = models.CharField("CNAPS", max_length=12, blank=True, default="")
    account_type = models.CharField(max_length=10, choices=BankAccountType.choices)
    is_current = models.BooleanField(default=True)
    # A change of account is a new row, not current until the bank verifies it; while one
    # is pending, payouts wait (money is never sent to an account nobody has checked).
    verified_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    # A change's way in (settlement.accounts): the owner's one-time code (hashed, never
    # stored in clear), then a second staff member when the change is risky, then the bank.
    # Only the bank's yes sets `verified_at` and `is_current`.
    stage = models.CharField(max_length=16, choices=AccountStage.choices, default=AccountStage.AWAITING_CODE)
    requested_by = models.CharField(max_length=120, blank=True, default="")
    requested_by_user_id = models.BigIntegerField(null=True, blank=True)
    code_hash = models.CharField(max_length=128, blank=True, default="")
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    code_sent_to = models.CharField(max_length=200, blank=True, default="")  # masked
    code_confirmed_at = models.DateTimeField(null=True, blank=True)
    review_reasons = models.JSONField(default=list, blank=True)  # why a second person must look
    approval_id = models.UUIDField(null=True, blank=True)  # the approvals request, when reviewed

    class Meta:
        permissions = [("approve_account_change", "Approve a risky settlement-account change 复核结算账户变更")]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant"], condition=models.Q(is_current=True),
                name="one_current_settlement_account",
            )
        ]

    @property
    def masked_number(self) -> str:
        n = self.account_number
        return f"{n[:4]} **** {n[-4:]}" if len(n) > 8 else "****"


class MerchantRole(models.TextChoices):
    OWNER = "owner", "Owner 负责人"
    CASHIER = "cashier", "Cashier 收银员"


class MerchantUser(MerchantKeyed):
    """A sign-in of the merchant portal. Keyed (merchant_id, id) on PostgreSQL (migration
    0006). A login belongs to one merchant: the user is claimed in the registry
    (`UNIQUE_USER`, merchants 0007) in the transaction that writes the link, and a sign-in
    finds its merchant there before reading the link by (merchant_id, user_id), one
    shard's read (`merchants.selectors.merchant_user_of`). No reverse accessor on the user:
    a lookup by the user alone would ask every shard."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="users")
    role = models.CharField(max_length=10, choices=MerchantRole.choices, default=MerchantRole.OWNER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "user"], name="merchantuser_once")]
