"""Changing a merchant's settlement account the way it must be changed now (issue 11, item 2):
the owner asks, confirms the one-time code, a second staff member approves a risky change;
then the bank verifies (the caller runs `verify_account_change` or the job)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from daozhang.approvals import services as approvals
from daozhang.merchants import services as merchants
from daozhang.merchants.models import AccountStage, MerchantRole, MerchantUser, SettlementAccount
from daozhang.settlement import accounts

PASSWORD = "account-helper-pw-2026"


def owner_of(merchant) -> MerchantUser:
    found = MerchantUser.objects.filter(merchant=merchant, role=MerchantRole.OWNER).first()
    if found is not None:
        return found
    return merchants.create_merchant_user(merchant_id=merchant.id, username=f"owner-{merchant.merchant_no}",
                                          password=PASSWORD, role="owner", actor="test")


def reviewer(name: str = "risk-reviewer"):
    """A staff member of the Risk role (it approves risky account changes)."""
    user, made = get_user_model().objects.get_or_create(username=name, defaults={"is_staff": True})
    if made:
        user.set_password(PASSWORD)
        user.save()
        user.groups.add(Group.objects.get(name="风控"))
    return get_user_model().objects.get(pk=user.pk)  # fresh: no cached permissions


def change_account(merchant, data: merchants.BankAccountInput) -> SettlementAccount:
    """Ask, confirm and (if it must be) approve a change; returns the account, ready for the bank."""
    owner = owner_of(merchant)
    actor = f"merchant-user:{owner.user.get_username()}"
    sent = accounts.request_account_change(merchant_id=merchant.id, data=data, user_id=owner.user_id, actor=actor)
    account = accounts.confirm_account_change(merchant_id=merchant.id, code=sent.code, user_id=owner.user_id,
                                              actor=actor)
    if account.stage == AccountStage.AWAITING_REVIEW:
        staff = reviewer()
        approvals.approve(request_id=account.approval_id, user=staff, actor=f"staff:{staff.get_username()}")
    account.refresh_from_db()
    assert account.stage == AccountStage.VERIFYING, account.stage
    return account
