"""Merchant onboarding and lifecycle. Each function is one transaction."""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from daozhang.audit import services as audit
from daozhang.core import clock, unique
from daozhang.core.errors import DomainError
from daozhang.core.ids import new_id
from daozhang.ledger.accounts import merchant_payable
from daozhang.ledger.services import ensure_accounts
from daozhang.merchants import validation as v
from daozhang.merchants.models import UNIQUE_MERCHANT_NO as MERCHANT_NO
from daozhang.merchants.models import UNIQUE_USCC as USCC
from daozhang.merchants.models import UNIQUE_USER as USER
from daozhang.merchants.models import (
    AccountStage,
    BankAccountType,
    FeePlan,
    Merchant,
    MerchantRole,
    MerchantStatus,
    MerchantUser,
    SettlementAccount,
    SettlementCycle,
)

ACQUIRER_CODE = "898"  # the first three digits of every merchant number we issue
DEFAULT_FEE_PLAN = "standard"


@dataclass(frozen=True)
class BankAccountInput:
    holder_name: str
    account_number: str
    bank_name: str
    account_type: str
    bank_branch_code: str = ""


@dataclass(frozen=True)
class OnboardingInput:
    legal_name: str
    short_name: str
    uscc: str
    mcc: str
    region_code: str
    contact_name: str
    contact_phone: str
    bank_account: BankAccountInput
    contact_email: str = ""
    address: str = ""
    fee_plan: str = DEFAULT_FEE_PLAN
    settlement_cycle: str = SettlementCycle.T1


def default_fee_plan() -> FeePlan:
    plan, _ = FeePlan.objects.get_or_create(
        code=DEFAULT_FEE_PLAN, defaults={"name": "Standard 标准费率"}
    )
    return plan


def onboard_merchant(*, data: OnboardingInput, actor: str) -> Merchant:
    """Validate everything first, then write merchant, bank account and ledger account."""
    legal_name = v.clean_required(data.legal_name, "legal_name", 200)
    short_name = v.clean_required(data.short_name, "short_name", 60)
    uscc = v.clean_uscc(data.uscc)
    mcc = v.clean_mcc(data.mcc)
    region = v.clean_region(data.region_code)
    contact_name = v.clean_required(data.contact_name, "contact_name", 60)
    phone = v.clean_phone(data.contact_phone)
    if data.settlement_cycle not in SettlementCycle.values:
        raise DomainError("invalid", "settlement_cycle")
    bank = data.bank_account
    if bank.account_type not in BankAccountType.values:
        raise DomainError("invalid", "bank_account.account_type")
    holder = v.clean_required(bank.holder_name, "bank_account.holder_name", 200)
    number = v.clean_bank_account(bank.account_number, bank.account_type, "bank_account.account_number")
    bank_name = v.clean_required(bank.bank_name, "bank_account.bank_name", 100)
    if data.fee_plan == DEFAULT_FEE_PLAN:
        plan = default_fee_plan()
    else:
        plan = FeePlan.objects.filter(code=data.fee_plan).first()  # type: ignore[assignment]
        if plan is None:
            raise DomainError("invalid", "fee_plan")
    # The early, friendly answer; the claim below is the guarantee, also against an
    # onboarding of the same licence at the same moment.
    if unique.owner(namespace=USCC, value=uscc) is not None:
        raise DomainError("duplicate", "uscc")
    merchant_id = new_id()
    with transaction.atomic():
        # The licence and the number are claimed first (core.unique): a second onboarding
        # of the same licence is refused here, before anything of it is written.
        unique.claim(namespace=USCC, value=uscc, merchant_id=merchant_id, field="uscc")
        merchant = Merchant.objects.create(
            id=merchant_id, merchant_no=_issue_merchant_no(region, mcc, merchant_id),
            legal_name=legal_name, short_name=short_name, uscc=uscc, mcc=mcc,
            region_code=region, contact_name=contact_name, contact_phone=phone,
            contact_email=data.contact_email, address=data.address, fee_plan=plan,
            settlement_cycle=data.settlement_cycle,
        )
        SettlementAccount.objects.create(
            merchant=merchant, holder_name=holder, account_number=number,
            bank_name=bank_name, bank_branch_code=bank.bank_branch_code,
            account_type=bank.account_type, verified_at=clock.now(),  # checked with the licence
            stage=AccountStage.VERIFIED,
        )
        ensure_accounts([merchant_payable(merchant.id)])
        audit.record(
            actor=actor, action="merchant.onboard", obj_type="merchant", obj_id=merchant.id,
            merchant_id=merchant.id,
            after={"merchant_no": merchant.merchant_no, "legal_name": legal_name, "mcc": mcc,
                   "fee_plan": plan.code, "settlement_cycle": data.settlement_cycle},
        )
    return merchant


# How many numbers an onboarding tries when others of its region and MCC take the next one
# at the same moment: each try waits for the onboarding holding the number to finish.
_NUMBER_TRIES = 5


def _issue_merchant_no(region: str, mcc: str, merchant_id: uuid.UUID) -> str:
    """The next number of the region and MCC, claimed for the merchant (core.unique).

    Two onboardings in one region and MCC at once compute the same next number; the
    registry lets one of them hold it. The other waits for that one's transaction (on
    PostgreSQL, on the registry's key), then, refused, reads the number it took and claims
    the one after: the number is ours to issue, so a collision is not the user's error.
    Only after `_NUMBER_TRIES` such collisions in a row is it refused: duplicate
    `merchant_no`, nothing written, safe to send again."""
    for _ in range(_NUMBER_TRIES):
        number = _next_merchant_no(region, mcc)
        try:
            unique.claim(namespace=MERCHANT_NO, value=number, merchant_id=merchant_id, field="merchant_no")
        except DomainError:
            continue
        return number
    raise DomainError("duplicate", "merchant_no")


def _next_merchant_no(region: str, mcc: str) -> str:
    """The number after the last one issued in the region and MCC, read from the registry
    (one index on the coordinator, where the merchants table is spread over the shards)."""
    prefix = f"{ACQUIRER_CODE}{region}{mcc}"
    last = unique.highest(namespace=MERCHANT_NO, prefix=prefix)
    seq = int(last[-4:]) + 1 if last else 1
    return f"{prefix}{seq:04d}"


_MERCHANT_TRANSITIONS = {
    MerchantStatus.ACTIVE: {MerchantStatus.SUSPENDED, MerchantStatus.CLOSED},
    MerchantStatus.SUSPENDED: {MerchantStatus.ACTIVE, MerchantStatus.CLOSED},
    MerchantStatus.CLOSED: set(),
}


def set_merchant_status(*, merchant_id: uuid.UUID, status: str, actor: str, reason: str) -> Merchant:
    with transaction.atomic():
        merchant = Merchant.objects.select_for_update().filter(id=merchant_id).first()
        if merchant is None:
            raise DomainError("unknown_merchant", "merchant_id", status=404)
        if status not in _MERCHANT_TRANSITIONS.get(MerchantStatus(merchant.status), set()):
            raise DomainError("bad_transition", "status", {"current": merchant.status, "target": status})
        before = merchant.status
        merchant.status = status
        merchant.save(update_fields=["status", "updated_at"])
        audit.record(actor=actor, action="merchant.status", obj_type="merchant", obj_id=merchant.id,
                     merchant_id=merchant.id, before={"status": before},
                     after={"status": status, "reason": reason})
    return merchant


def create_merchant_user(*, merchant_id: uuid.UUID, username: str, password: str, role: str,
                         actor: str) -> MerchantUser:
    """A portal login bound to one merchant (never staff: it sees only that merchant)."""
    merchant = Merchant.objects.filter(id=merchant_id).first()
    if merchant is None:
        raise DomainError("unknown_merchant", "merchant_id", status=404)
    # Django stores a username NFKC-normalised (ｍerchant1 is merchant1): compare it so.
    name = unicodedata.normalize("NFKC", v.clean_required(username, "username", 60))
    if role not in MerchantRole.values:
        raise DomainError("invalid", "role")
    user_model = get_user_model()
    try:
        validate_password(password, user_model(username=name))
    except ValidationError as exc:
        raise DomainError("weak_password", "password", {"detail": " ".join(exc.messages)}) from exc
    if user_model.objects.filter(username=name).exists():
        raise DomainError("duplicate", "username")
    try:
        with transaction.atomic():
            user = user_model.objects.create_user(username=name, password=password)
            mu = link_merchant_user(user=user, merchant=merchant, role=role)
            audit.record(actor=actor, action="merchant_user.create", obj_type="merchant_user", obj_id=user.pk,
                         merchant_id=merchant.id, after={"username": name, "role": role})
    except IntegrityError as exc:  # the same name created at the same moment
        raise DomainError("duplicate", "username") from exc
    return mu


def link_merchant_user(*, user: AbstractBaseUser, merchant: Merchant, role: str) -> MerchantUser:
    """Make an auth user a portal login of the merchant, inside the caller's transaction.

    The only writer of `MerchantUser` rows. A login belongs to one merchant: the user is
    claimed in the registry (core.unique) first, so a link of the same user to a second
    merchant, even at the same moment, is refused with the error a second link gave when
    the user was a unique key of the links: duplicate `username`, nothing of it written."""
    unique.claim(namespace=USER, value=str(user.pk), merchant_id=merchant.id, field="username")
    mu: MerchantUser = MerchantUser.objects.create(user_id=user.pk, merchant=merchant, role=role)
    return mu
