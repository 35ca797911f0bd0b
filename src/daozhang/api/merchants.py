"""Merchant endpoints: a merchant's own profile, balance and settlement bank account; staff onboarding."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from django.http import HttpResponse
from ninja import Router, Schema, Status

from daozhang.access.api_auth import MerchantRequest, StaffPermission, StaffRequest, require_perm
from daozhang.access.services import issue_api_key
from daozhang.core import pan
from daozhang.core.errors import DomainError
from daozhang.core.http import STAFF_ERRORS as ERRORS
from daozhang.core.http import idempotent
from daozhang.core.inputs import Code, Password, Text, Username
from daozhang.core.money import Money
from daozhang.ledger.selectors import merchant_payable_balance
from daozhang.merchants import services
from daozhang.merchants.models import Merchant

router = Router(tags=["merchant 商户"])
staff_router = Router(tags=["staff: merchants 运营：商户"])


class MerchantOut(Schema):
    id: uuid.UUID
    merchant_no: str
    legal_name: str
    short_name: str
    mcc: str
    status: str
    settlement_cycle: str
    fee_plan: str
    contact_phone: str
    settlement_account: str
    created_at: dt.datetime

    @staticmethod
    def of(m: Merchant) -> dict[str, object]:
        acct = m.settlement_accounts.filter(is_current=True).first()
        return {
            "id": m.id, "merchant_no": m.merchant_no, "legal_name": m.legal_name,
            "short_name": m.short_name, "mcc": m.mcc, "status": m.status,
            "settlement_cycle": m.settlement_cycle, "fee_plan": m.fee_plan.code,
            "contact_phone": m.contact_phone,
            "settlement_account": f"{acct.bank_name} {acct.masked_number} {acct.holder_name}" if acct else "",
            "created_at": m.created_at,
        }


class BalanceOut(Schema):
    unsettled: int
    unsettled_display: str
    currency: str


@router.get("/merchant", response={200: MerchantOut, **ERRORS}, summary="My merchant profile 商户信息")
def me(request: MerchantRequest) -> Status[dict[str, object]]:
    return Status(200, MerchantOut.of(request.merchant))


@router.get("/balance", response={200: BalanceOut, **ERRORS}, summary="Money owed, not yet settled 待结算余额")
def balance(request: MerchantRequest) -> Status[dict[str, object]]:
    fen = merchant_payable_balance(request.merchant.id)
    return Status(200, {"unsettled": fen, "unsettled_display": Money(fen).display(), "currency": "CNY"})


# Lengths are the columns' (merchants.models); formats the services check name the field too.
AccountType = Literal["corporate", "personal"]
Cnaps = Annotated[str, Code(r"^([0-9]{12})?$", "CNAPS bank branch code: 12 digits, or empty")]


class BankAccountIn(Schema):
    holder_name: Annotated[str, Text(200)]
    account_number: Annotated[str, Text(40, required=False, description="8-30 digits (corporate) or a 16-19 "
                                                                        "digit card number (personal); encrypted "
                                                                        "at rest, shown masked", pan=pan.ACCOUNT)]
    bank_name: Annotated[str, Text(100)]
    account_type: AccountType
    bank_branch_code: Cnaps = ""


# Published under the settlement tag, with the operationId it had in settlement/api.py.
# Issue 11, item 2: a till's API key set a personal account in another person's name and
# the next payout would have gone there. Changes of where money is paid are made by the
# merchant's owner signed in to the portal, confirmed by a code sent to the registered
# contact (settlement.accounts); this endpoint stays, so a client calling it learns why.
@router.post("/settlement-account/changes", response=ERRORS,
             tags=["settlement 结算"], operation_id="daozhang_settlement_api_change_account",
             openapi_extra={"x-daozhang-no-op": True},
             summary="Change the settlement account: not with an API key (owners, portal) 变更结算账户：仅限门户",
             description="Always 403 `account_change_needs_owner`, before the body is read, and nothing is "
                         "written: an API key is a till's credential and cannot change where the merchant is "
                         "paid. The merchant's owner changes it in the portal (Me → Settlement account), "
                         "confirmed by a one-time code sent to the registered phone or e-mail.")
def change_account(request: MerchantRequest) -> HttpResponse:
    raise DomainError("account_change_needs_owner", "authorization", status=403)


class OnboardIn(Schema):
    legal_name: Annotated[str, Text(200)]
    short_name: Annotated[str, Text(60)]
    uscc: Annotated[str, Text(18, required=False, description="Unified social credit code, 18 characters")]
    mcc: Annotated[str, Text(4, required=False, description="Merchant category code, 4 digits")]
    region_code: Annotated[str, Text(4, required=False, description="Region code, 4 digits")]
    contact_name: Annotated[str, Text(60)]
    contact_phone: Annotated[str, Text(20, required=False, description="Mainland China mobile number")]
    contact_email: Annotated[str, Text(254, required=False)] = ""
    address: Annotated[str, Text(200, required=False)] = ""
    fee_plan: Annotated[str, Text(40, required=False, description="A fee plan code")] = "standard"
    settlement_cycle: Literal["T1", "D0"] = "T1"
    bank_account: BankAccountIn


class StatusIn(Schema):
    status: Literal["active", "suspended", "closed"]
    reason: Annotated[str, Text(300)]


class ApiKeyIn(Schema):
    name: Annotated[str, Text(60)]


class ApiKeyOut(Schema):
    id: uuid.UUID
    name: str
    prefix: str
    key: str | None  # shown once; null on an idempotent replay


class MerchantUserIn(Schema):
    username: Username
    password: Password
    role: Literal["owner", "cashier"] = "owner"


class MerchantUserOut(Schema):
    id: int
    username: str
    role: str
    merchant_no: str


@staff_router.post("/merchants", auth=StaffPermission("merchants.add_merchant"),
                   response={201: MerchantOut, **ERRORS}, summary="Onboard a merchant 商户入网")
def onboard(request: StaffRequest, body: OnboardIn) -> HttpResponse:
    actor = require_perm(request, "merchants.add_merchant")

    def run() -> tuple[int, object]:
        data = body.model_dump()
        bank = services.BankAccountInput(**data.pop("bank_account"))
        m = services.onboard_merchant(data=services.OnboardingInput(bank_account=bank, **data), actor=actor)
        return 201, MerchantOut.model_validate(MerchantOut.of(m)).model_dump(mode="json")

    return idempotent(request, f"staff:{request.staff_user.id}", run)


@staff_router.get("/merchants/{merchant_id}", auth=StaffPermission("merchants.view_merchant"),
                  response={200: MerchantOut, **ERRORS})
def get_merchant(request: StaffRequest, merchant_id: uuid.UUID) -> Status[dict[str, object]]:
    require_perm(request, "merchants.view_merchant")
    m = Merchant.objects.select_related("fee_plan").filter(id=merchant_id).first()
    if m is None:
        raise DomainError("unknown_merchant", "merchant_id", status=404)
    return Status(200, MerchantOut.of(m))


@staff_router.post("/merchants/{merchant_id}/status", auth=StaffPermission("merchants.change_merchant"),
                   response={200: MerchantOut, **ERRORS},
                   summary="Suspend, reactivate or close 暂停/恢复/注销")
def merchant_status(request: StaffRequest, merchant_id: uuid.UUID, body: StatusIn) -> HttpResponse:
    actor = require_perm(request, "merchants.change_merchant")

    def run() -> tuple[int, object]:
        m = services.set_merchant_status(merchant_id=merchant_id, status=body.status, actor=actor,
                                         reason=body.reason)
        return 200, MerchantOut.model_validate(MerchantOut.of(m)).model_dump(mode="json")

    return idempotent(request, f"staff:{request.staff_user.id}", run)


@staff_router.post("/merchants/{merchant_id}/api-keys", auth=StaffPermission("access.add_apikey"),
                   response={201: ApiKeyOut, **ERRORS},
                   summary="Issue an API key (shown once) 签发 API 密钥")
def new_api_key(request: StaffRequest, merchant_id: uuid.UUID, body: ApiKeyIn) -> HttpResponse:
    actor = require_perm(request, "access.add_apikey")
    m = Merchant.objects.filter(id=merchant_id).first()
    if m is None:
        raise DomainError("unknown_merchant", "merchant_id", status=404)

    def run() -> tuple[int, object]:
        key, raw = issue_api_key(merchant=m, name=body.name, actor=actor)
        return 201, {"id": str(key.id), "name": key.name, "prefix": key.prefix, "key": raw}

    # The raw key is never written anywhere: a replay answers with the key's id, not the key.
    return idempotent(request, f"staff:{request.staff_user.id}", run, redact=("key",))


@staff_router.post("/merchants/{merchant_id}/users", auth=StaffPermission("merchants.add_merchantuser"),
                   response={201: MerchantUserOut, **ERRORS},
                   summary="Create a portal login for a merchant 创建商户登录账号")
def new_merchant_user(request: StaffRequest, merchant_id: uuid.UUID, body: MerchantUserIn) -> HttpResponse:
    actor = require_perm(request, "merchants.add_merchantuser")

    def run() -> tuple[int, object]:
        mu = services.create_merchant_user(merchant_id=merchant_id, username=body.username, password=body.password,
                                           role=body.role, actor=actor)
        return 201, {"id": mu.user_id, "username": mu.user.get_username(), "role": mu.role,
                     "merchant_no": mu.merchant.merchant_no}

    return idempotent(request, f"staff:{request.staff_user.id}", run)
