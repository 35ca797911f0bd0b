"""The double-entry ledger: accounts, entries, postings.

Amounts are signed integer fen, debit positive and credit negative, so "an entry
balances" is simply "its postings sum to zero" and an account's balance is the sum of its
postings. Entries and postings are never updated or deleted (database triggers refuse
it); a correction is a new entry.
"""

from __future__ import annotations

from django.db import models

from daozhang.core.ids import new_id


class AccountType(models.TextChoices):
    ASSET = "asset", "Asset 资产"
    LIABILITY = "liability", "Liability 负债"
    INCOME = "income", "Income 收入"
    EXPENSE = "expense", "Expense 费用"
    EQUITY = "equity", "Equity 权益"


class Account(models.Model):
    """One ledger account, always one merchant's: the platform's side of a merchant's money
    is in that merchant's sub-accounts (ledger.accounts), a platform total is a sum by
    purpose. On PostgreSQL the key is (merchant_id, id) (ledger 0012; docs/operations.md)."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    code = models.CharField(max_length=120)
    purpose = models.CharField(max_length=40)
    type = models.CharField(max_length=12, choices=AccountType.choices)
    merchant_id = models.UUIDField()
    currency = models.CharField(max_length=3, default="CNY")
    # Sum of this account's postings, kept in the same transaction as each posting;
    # `daozhang ledger check` recomputes it from the postings.
    balance = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["merchant_id", "purpose"], name="ledger_acct_merchant_purpose"),
            models.Index(fields=["purpose"], name="ledger_acct_purpose"),  # platform totals
        ]
        constraints = [
            models.UniqueConstraint(fields=["merchant_id", "code"], name="ledger_account_merchant_code"),
        ]

    def __str__(self) -> str:
        return self.code


class Entry(models.Model):
    """A balanced set of postings caused by one business event."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    kind = models.CharField(max_length=40)
    merchant_id = models.UUIDField()
    business_ref = models.CharField(max_length=80)
    # Unique within the merchant's entries: the keys embed the business row's id anyway.
    idempotency_key = models.CharField(max_length=120)
    business_date = models.DateField()
    currency = models.CharField(max_length=3, default="CNY")
    memo = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "entries"
        indexes = [
            models.Index(fields=["business_ref"], name="ledger_entry_ref"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["merchant_id", "idempotency_key"], name="ledger_entry_merchant_key"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.business_ref}"


class Posting(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    # No foreign-key constraints on PostgreSQL: a row trigger checks that the entry (of this
    # transaction) and the account exist, and are the posting's merchant's (ledger 0012).
    # Indexed by ledger_posting_merchant_entry (merchant_id, entry): ledger 0013.
    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="postings", db_constraint=False,
                              db_index=False)
    # Indexed by ledger_posting_account (account, entry), which leads with it: no second index.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings", db_index=False,
                                db_constraint=False)
    merchant_id = models.UUIDField()  # the entry's, and the account's
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="CNY")

    class Meta:
        indexes = [
            models.Index(fields=["account", "entry"], name="ledger_posting_account"),
            models.Index(fields=["merchant_id", "entry"], name="ledger_posting_merchant_entry"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="ledger_posting_nonzero"),
        ]
