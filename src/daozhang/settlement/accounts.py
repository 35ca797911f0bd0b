"""A merchant's new settlement account: asked for by the owner, confirmed by a one-time
code, reviewed by a second staff member when risky, verified with the bank, then its
returned payouts re-paid.

Issue 11, item 2: a till's API key could point the merchant's payouts at anyone's card.
Now a change goes, in order, through:

1. **the owner, signed in** (`request_account_change`): the service itself checks that the
   user is an active owner of the merchant (the API answers 403 before it gets here: an
   API key is a till's credential). A company's account must be in its legal name. At
   most `ACCOUNT_CHANGES_PER_DAY` requests a day. A newer request replaces one pending.
2. **a one-time code** (`confirm_account_change`): 6 digits, sent to the merchant's
   *registered* phone (else e-mail) by the face through the notification providers; only
   its HMAC is stored, it expires after `ACCOUNT_CHANGE_CODE_SECONDS`, and after
   `ACCOUNT_CHANGE_CODE_ATTEMPTS` wrong tries the change is cancelled. Someone with the
   owner's password but not the owner's phone gets no further.
3. **a second staff member** (approvals, kind `settlement.account_change`) when the change
   is risky (`ACCOUNT_CHANGE_REVIEW`: by default a switch to a personal account or a
   holder other than the current one's).
4. **the bank** (`verify_account_change`, the `verify_pending_accounts` job): only its yes
   sets `verified_at` and `is_current`, so a payout cool-off counted from `verified_at`
   starts when the account really takes effect.

While a change is on its way, payouts wait (settlement.payouts: any account neither
verified nor rejected). Every step is audited on the account (`settlement_account.*`),
which is what the portal's timeline shows (`change_timeline`); the registered contact is
told when a change is requested (`account_change_requested`) and when it takes effect or
is refused (`account_verified`, `account_rejected`).

Here, not in merchants: applying a verified account sends the merchant's returned batches
back to the payout queue in the same transaction, and batches are settlement's.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.crypto import constant_time_compare, salted_hmac

from daozhang.approvals import services as approvals
from daozhang.approvals.models import ApprovalRequest, ApprovalStatus
from daozhang.audit import services as audit
from daozhang.audit.models import AuditEvent
from daozhang.channels.bank import PayeeAccount, TransferState, get_bank
from daozhang.core import clock
from daozhang.core.errors import DomainError
from daozhang.core.events import emit
from daozhang.core.ids import new_id
from daozhang.merchants import validation as v
from daozhang.merchants.models import (
    AccountStage,
    BankAccountType,
    Merchant,
    MerchantRole,
    MerchantStatus,
    MerchantUser,
    SettlementAccount,
)
from daozhang.merchants.services import BankAccountInput
from daozhang.settlement.models import BatchStatus, SettlementBatch

REVIEW_KIND = "settlement.account_change"
REVIEW_PERMISSION = "merchants.approve_account_change"
SYSTEM = "system:account-change"

SUPERSEDED = "superseded by a newer change / 已被新的变更取代"
CODE_EXPIRED = "the confirmation code expired / 验证码已过期"
CODE_EXHAUSTED = "too many wrong confirmation codes / 验证码错误次数过多"
CODE_UNSENT = "the confirmation code could not be sent / 验证码未能发送"

# Why a change needs a second person (the account's `review_reasons`), as the pages say it.
REVIEW_REASONS = {
    "personal": ("改为对私（个人）账户", "a switch to a personal account"),
    "new_holder": ("户名与当前账户不同", "a holder other than the current account's"),
    "policy": ("所有变更均须复核（配置）", "every change is reviewed (configuration)"),
}


def pending_accounts() -> Any:
    """Changes on their way (neither verified nor rejected): payouts wait while one exists."""
    return SettlementAccount.objects.filter(is_current=False, verified_at__isnull=True, rejected_at__isnull=True)


def _same_name(a: str, b: str) -> bool:
    """Names compared as a bank would: full-width and half-width alike （）/(), spaces ignored."""
    def norm(s: str) -> str:
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s)).casefold()
    return norm(a) == norm(b)


def _code_hash(account_id: uuid.UUID, code: str) -> str:
    """Keyed hash (HMAC-SHA256 under SECRET_KEY, salted by the account): a copy of the
    table does not give the codes, and a code is good for one change only."""
    return salted_hmac("daozhang.settlement.account-change-code", f"{account_id}:{code}",
                       algorithm="sha256").hexdigest()


def _owner(merchant_id: uuid.UUID, user_id: int | None) -> None:
    """Checked here, not only in the page: only an active owner's login changes money routing."""
    if user_id is None or not MerchantUser.objects.filter(
            user_id=user_id, merchant_id=merchant_id, role=MerchantRole.OWNER, user__is_active=True).exists():
        raise DomainError("owner_only", None, status=403)


def mask_contact(recipient: str) -> str:
    if "@" in recipient:
        local, _, domain = recipient.partition("@")
        return f"{local[:1]}***@{domain}"
    d = recipient.strip()
    return f"{d[:-8]}****{d[-4:]}" if len(d) >= 8 else "****"


@dataclass(frozen=True)
class CodeToSend:
    """What the face sends through the notification providers, once: the code is in no
    table, no event and no log (only its hash is stored)."""

    account: SettlementAccount
    code: str
    channel: str  # "sms" | "email"
    recipient: str  # the merchant's registered contact
    expires_at: dt.datetime


def review_reasons(merchant: Merchant, current: SettlementAccount | None, holder: str, account_type: str) -> list[str]:
    mode = getattr(settings, "ACCOUNT_CHANGE_REVIEW", "risky")
    if mode == "none":
        return []
    reasons = []
    personal = BankAccountType.PERSONAL
    if account_type == personal and (current is None or current.account_type != personal):
        reasons.append("personal")
    if current is None or not _same_name(holder, current.holder_name):
        reasons.append("new_holder")
    if mode == "all" and not reasons:
        reasons.append("policy")
    return reasons


def request_account_change(*, merchant_id: uuid.UUID, data: BankAccountInput, user_id: int | None,
                           actor: str) -> CodeToSend:
    """Record a new account awaiting the owner's code; return the code for the face to send.

    Nothing is paid to it, and payouts wait, until the code is confirmed, a second staff
    member approved it when it is risky, and the bank verified it.
    """
    _owner(merchant_id, user_id)
    merchant = Merchant.objects.filter(id=merchant_id).first()
    if merchant is None:
        raise DomainError("unknown_merchant", "merchant_id", status=404)
    if merchant.status != MerchantStatus.ACTIVE:
        # A suspended merchant's money is under review: its payee cannot change meanwhile.
        raise DomainError("merchant_not_active", "merchant", {"status": merchant.status}, status=409)
    if data.account_type not in BankAccountType.values:
        raise DomainError("invalid", "account_type")
    holder = v.clean_required(data.holder_name, "holder_name", 200)
    number = v.clean_bank_account(data.account_number, data.account_type, "account_number")
    bank_name = v.clean_required(data.bank_name, "bank_name", 100)
    if (merchant.is_company or data.account_type == BankAccountType.CORPORATE) \
            and not _same_name(holder, merchant.legal_name):
        raise DomainError("holder_not_legal_name", "holder_name", {"legal_name": merchant.legal_name})
    channel, recipient = (("sms", merchant.contact_phone) if merchant.contact_phone
                          else ("email", merchant.contact_email))
    if not recipient:
        raise DomainError("code_not_sent", "merchant", {"recipient": "—"}, status=409)
    now = clock.now()
    limit = int(getattr(settings, "ACCOUNT_CHANGES_PER_DAY", 5))
    code = f"{secrets.randbelow(10**6):06d}"
    account_id = new_id()
    expires = now + dt.timedelta(seconds=int(getattr(settings, "ACCOUNT_CHANGE_CODE_SECONDS", 600)))
    with transaction.atomic():
        Merchant.objects.select_for_update().filter(id=merchant.id).first()  # one request at a time per merchant
        if SettlementAccount.objects.filter(merchant=merchant, requested_by_user_id__isnull=False,
                                            created_at__gte=now - dt.timedelta(days=1)).count() >= limit:
            raise DomainError("too_many_account_changes", "merchant", {"limit": limit}, status=429)
        for old in pending_accounts().select_for_update().filter(merchant=merchant):
            _reject(old, actor=actor, reason=SUPERSEDED, now=now, notify=False)
        current = SettlementAccount.objects.filter(merchant=merchant, is_current=True).first()
        reasons = review_reasons(merchant, current, holder, data.account_type)
        account = SettlementAccount.objects.create(
            id=account_id, merchant=merchant, holder_name=holder, account_number=number, bank_name=bank_name,
            bank_branch_code=data.bank_branch_code, account_type=data.account_type, is_current=False,
            stage=AccountStage.AWAITING_CODE, requested_by=actor[:120], requested_by_user_id=user_id,
            code_hash=_code_hash(account_id, code), code_expires_at=expires, code_sent_to=mask_contact(recipient),
            review_reasons=reasons)
        audit.record(actor=actor, action="settlement_account.change_requested", obj_type="settlement_account",
                     obj_id=account.id, merchant_id=merchant.id,
                     before={"account": current.masked_number, "holder": current.holder_name,
                             "type": current.account_type} if current else None,
                     after={"account": account.masked_number, "holder": holder, "bank": bank_name,
                            "type": data.account_type, "code_sent_to": account.code_sent_to,
                            "review": reasons})
        emit("account_change_requested", merchant_id=merchant.id,
             data={"account_id": str(account.id), "account": account.masked_number, "holder": holder})
    return CodeToSend(account, code, channel, recipient, expires)


def code_not_sent(*, account_id: uuid.UUID, error: str) -> None:
    """The provider did not take the code: the change ends here (the owner asks again)."""
    with transaction.atomic():
        acct = pending_accounts().filter(stage=AccountStage.AWAITING_CODE).lock(id=account_id)
        if acct is not None:
            _reject(acct, actor=SYSTEM, reason=CODE_UNSENT, now=clock.now(), notify=False, detail=error[:200])


def confirm_account_change(*, merchant_id: uuid.UUID, code: str, user_id: int | None,
                           actor: str) -> SettlementAccount:
    """Check the owner's code for the merchant's change awaiting one.

    Right: the change goes on to staff review (risky) or bank verification. Wrong: one
    attempt used (counted in the database, under the row's lock); the last wrong attempt
    or an expired code cancels the change. The error is raised after that is committed.
    """
    _owner(merchant_id, user_id)
    code = (code or "").strip()
    now = clock.now()
    failure: DomainError | None = None
    with transaction.atomic():
        acct = pending_accounts().select_for_update().filter(
            merchant_id=merchant_id, stage=AccountStage.AWAITING_CODE).order_by("-created_at").first()
        if acct is None:
            raise DomainError("no_code_pending", "code", status=409)
        limit = int(getattr(settings, "ACCOUNT_CHANGE_CODE_ATTEMPTS", 5))
        if acct.code_expires_at is None or acct.code_expires_at <= now:
            _reject(acct, actor=SYSTEM, reason=CODE_EXPIRED, now=now)
            failure = DomainError("code_expired", "code")
        elif not (re.fullmatch(r"[0-9]{6}", code) and acct.code_hash
                  and constant_time_compare(_code_hash(acct.id, code), acct.code_hash)):
            acct.code_attempts += 1
            acct.save(update_fields=["code_attempts"])
            audit.record(actor=actor, action="settlement_account.code_failed", obj_type="settlement_account",
                         obj_id=acct.id, merchant_id=acct.merchant_id, after={"attempt": acct.code_attempts})
            if acct.code_attempts >= limit:
                _reject(acct, actor=SYSTEM, reason=CODE_EXHAUSTED, now=now)
                failure = DomainError("code_attempts_exceeded", "code")
            else:
                failure = DomainError("code_wrong", "code", {"left": limit - acct.code_attempts})
        else:
            _confirmed(acct, actor=actor, user_id=user_id, now=now)
    if failure is not None:
        raise failure
    return acct


def _confirmed(acct: SettlementAccount, *, actor: str, user_id: int | None, now: dt.datetime) -> None:
    acct.code_hash, acct.code_confirmed_at = "", now
    review = bool(acct.review_reasons)
    audit.record(actor=actor, action="settlement_account.code_confirmed", obj_type="settlement_account",
                 obj_id=acct.id, merchant_id=acct.merchant_id, after={"next": "review" if review else "bank"})
    if review:
        merchant = acct.merchant
        why_zh = "、".join(REVIEW_REASONS[r][0] for r in acct.review_reasons)
        why_en = ", ".join(REVIEW_REASONS[r][1] for r in acct.review_reasons)
        kind = BankAccountType(acct.account_type).label
        req = approvals.request_approval(
            kind=REVIEW_KIND, payload={"account_id": str(acct.id)}, merchant_id=merchant.id,
            object_type="settlement_account", object_id=str(acct.id), maker=actor, maker_user_id=user_id,
            summary_zh=f"{merchant.short_name}（{merchant.merchant_no}，{merchant.legal_name}）结算账户改为 "
                       f"{acct.holder_name} · {acct.bank_name} {acct.masked_number}（{kind}）；复核原因：{why_zh}",
            summary_en=f"{merchant.short_name} ({merchant.merchant_no}, {merchant.legal_name}): settlement account "
                       f"to {acct.holder_name} · {acct.bank_name} {acct.masked_number} ({kind}); reviewed for "
                       f"{why_en}")
        acct.stage, acct.approval_id = AccountStage.AWAITING_REVIEW, req.id
        audit.record(actor=actor, action="settlement_account.review_requested", obj_type="settlement_account",
                     obj_id=acct.id, merchant_id=acct.merchant_id,
                     after={"approval": str(req.id), "reasons": acct.review_reasons})
    else:
        acct.stage = AccountStage.VERIFYING
    acct.save(update_fields=["code_hash", "code_confirmed_at", "stage", "approval_id"])


def _reject(acct: SettlementAccount, *, actor: str, reason: str, now: dt.datetime, notify: bool = True,
            detail: str = "") -> None:
    """End a change that will not take effect, with the reason the merchant reads."""
    acct.stage, acct.rejected_at, acct.rejection_reason, acct.code_hash = AccountStage.REJECTED, now, reason[:200], ""
    acct.save(update_fields=["stage", "rejected_at", "rejection_reason", "code_hash"])
    if acct.approval_id:
        approvals.cancel(request_id=acct.approval_id, actor=actor, reason=reason)
    audit.record(actor=actor, action="settlement_account.rejected", obj_type="settlement_account", obj_id=acct.id,
                 merchant_id=acct.merchant_id, after={"reason": reason, **({"detail": detail} if detail else {})})
    if notify:
        emit("account_rejected", merchant_id=acct.merchant_id, data={"account_id": str(acct.id), "reason": reason})


def expire_unconfirmed(*, now: dt.datetime | None = None) -> int:
    """Cancel changes whose code was never confirmed in time (the `expire_account_codes`
    job): an abandoned change must not hold the merchant's payouts for ever."""
    now = now or clock.now()
    n = 0
    for merchant_id, account_id in pending_accounts().filter(
            stage=AccountStage.AWAITING_CODE, code_expires_at__lte=now).values_list("merchant_id", "id")[:1000]:
        with transaction.atomic():
            acct = pending_accounts().filter(stage=AccountStage.AWAITING_CODE).lock(id=account_id,
                                                                                  merchant_id=merchant_id)
            if acct is not None:
                _reject(acct, actor=SYSTEM, reason=CODE_EXPIRED, now=now)
                n += 1
    return n


# ----------------------------------------------------------- the second staff member


def _review_approved(req: ApprovalRequest, actor: str) -> dict[str, Any]:
    acct = SettlementAccount.objects.lock(id=req.payload["account_id"])
    if acct is None or acct.stage != AccountStage.AWAITING_REVIEW or acct.rejected_at is not None:
        raise DomainError("approval_decided", "request_id", {"status": ("closed", "已关闭")}, status=409)
    acct.stage = AccountStage.VERIFYING
    acct.save(update_fields=["stage"])
    audit.record(actor=actor, action="settlement_account.review_approved", obj_type="settlement_account",
                 obj_id=acct.id, merchant_id=acct.merchant_id, after={"approval": str(req.id)})
    return {"account_id": str(acct.id), "next": "bank_verification"}


def _review_closed(req: ApprovalRequest, actor: str, why: str) -> None:
    acct = SettlementAccount.objects.lock(id=req.payload["account_id"])
    if acct is None or acct.stage != AccountStage.AWAITING_REVIEW or acct.rejected_at is not None:
        return
    acct.approval_id = None  # the request is ending now; _reject must not cancel it again
    _reject(acct, actor=actor, reason=f"not approved in staff review / 运营复核未通过: {why}", now=clock.now())


def register_approval_kind() -> None:
    approvals.register(approvals.Kind(
        name=REVIEW_KIND, permission=REVIEW_PERMISSION, label_zh="结算账户变更", label_en="Settlement-account change",
        on_approve=_review_approved, on_close=_review_closed))
    approvals.register(approvals.Kind(
        name=BANK_CHECK_KIND, permission=REVIEW_PERMISSION, label_zh="结算账户核实",
        label_en="Settlement-account verification", on_approve=_bank_check_approved, on_close=_bank_check_closed))


# ----------------------------------------------------------- the bank


def verify_account_change(*, account_id: uuid.UUID, actor: str = "system:bank-verification") -> SettlementAccount:
    """Ask the bank to verify an account ready for it; apply it, or reject it with the bank's reason.

    Only an account at the `verifying` stage (code confirmed, reviewed if it had to be) is
    sent to the bank; any other is returned unchanged.
    """
    account = SettlementAccount.objects.select_related("merchant").get(id=account_id)
    if account.verified_at or account.rejected_at or account.stage != AccountStage.VERIFYING:
        return account
    answer = get_bank().verify(PayeeAccount(account.holder_name, account.account_number, account.bank_name,
                                            account.account_type))  # BankUnavailable: stays pending, retried
    if answer.state == TransferState.ACCEPTED:
        return _ask_staff_to_verify(account, actor=actor)  # no verdict: the file bank cannot verify
    merchant = account.merchant
    with transaction.atomic():
        locked = SettlementAccount.objects.get_locked(id=account.id, merchant_id=account.merchant_id)
        if locked.verified_at or locked.rejected_at or locked.stage != AccountStage.VERIFYING:
            return locked
        if answer.state != TransferState.PAID:
            locked.stage, locked.rejected_at, locked.rejection_reason = (AccountStage.REJECTED, clock.now(),
                                                                         answer.reason[:200])
            locked.save(update_fields=["stage", "rejected_at", "rejection_reason"])
            audit.record(actor=actor, action="settlement_account.rejected", obj_type="settlement_account",
                         obj_id=locked.id, merchant_id=merchant.id, after={"reason": answer.reason})
            emit("account_rejected", merchant_id=merchant.id,
                 data={"account_id": str(locked.id), "reason": answer.reason})
            return locked
        _take_effect(locked, actor=actor)
    return locked


def _take_effect(locked: SettlementAccount, *, actor: str, **why: str) -> None:
    """The verified account becomes the one paid to, in the caller's transaction (row locked)."""
    merchant_id = locked.merchant_id
    SettlementAccount.objects.filter(merchant_id=merchant_id, is_current=True).update(is_current=False)
    # The moment the account takes effect: a payout cool-off counts from `verified_at`.
    locked.is_current, locked.verified_at, locked.stage = True, clock.now(), AccountStage.VERIFIED
    locked.save(update_fields=["is_current", "verified_at", "stage"])
    repaid = SettlementBatch.objects.filter(merchant_id=merchant_id, status=BatchStatus.RETURNED).update(
        status=BatchStatus.DUE, updated_at=clock.now())
    audit.record(actor=actor, action="settlement_account.verified", obj_type="settlement_account",
                 obj_id=locked.id, merchant_id=merchant_id,
                 after={"account": locked.masked_number, "returned_batches_to_repay": repaid, **why})
    emit("account_verified", merchant_id=merchant_id,
         data={"account_id": str(locked.id), "account": locked.masked_number, "repaid": repaid})


# A bank that gives no verdict on an account (the file bank: nothing to ask on line) leaves
# the check to staff, who verify the holder and number from the merchant's documents or by
# calling the bank; through the approvals queue, so it is one decision, audited, made once.
BANK_CHECK_KIND = "settlement.account_bank_check"


def _ask_staff_to_verify(account: SettlementAccount, *, actor: str) -> SettlementAccount:
    with transaction.atomic():
        locked = SettlementAccount.objects.select_related("merchant").get_locked(
            id=account.id, merchant_id=account.merchant_id)
        if locked.verified_at or locked.rejected_at or locked.stage != AccountStage.VERIFYING:
            return locked
        if ApprovalRequest.objects.filter(kind=BANK_CHECK_KIND, object_type="settlement_account",
                                          object_id=str(locked.id), status=ApprovalStatus.PENDING).exists():
            return locked  # asked already (the verification job runs again and again)
        m = locked.merchant
        approvals.request_approval(
            kind=BANK_CHECK_KIND, payload={"account_id": str(locked.id)}, maker=actor, maker_user_id=None,
            merchant_id=m.id, object_type="settlement_account", object_id=str(locked.id),
            summary_zh=f"核实 {m.short_name}（{m.merchant_no}）的新结算账户 {locked.masked_number}，户名 "
                       f"{locked.holder_name}，{locked.bank_name}：银行不提供在线核验，请凭资料或致电银行核实",
            summary_en=f"Verify {m.short_name} ({m.merchant_no})'s new settlement account {locked.masked_number}, "
                       f"holder {locked.holder_name}, {locked.bank_name}: the bank gives no verdict on line; "
                       f"check it from the documents or with the bank")
    return locked


def _bank_check_approved(req: ApprovalRequest, actor: str) -> dict[str, Any]:
    acct = SettlementAccount.objects.lock(id=req.payload["account_id"])
    if acct is None or acct.stage != AccountStage.VERIFYING or acct.verified_at or acct.rejected_at:
        raise DomainError("approval_decided", "request_id", {"status": ("closed", "已关闭")}, status=409)
    _take_effect(acct, actor=actor, verified_by="staff", approval=str(req.id))
    return {"account_id": str(acct.id), "verified": True}


def _bank_check_closed(req: ApprovalRequest, actor: str, why: str) -> None:
    acct = SettlementAccount.objects.lock(id=req.payload["account_id"])
    if acct is None or acct.stage != AccountStage.VERIFYING or acct.verified_at or acct.rejected_at:
        return
    acct.approval_id = None  # that one (the review, if any) was decided already: nothing to cancel
    _reject(acct, actor=actor, reason=f"not verified by staff / 运营核实未通过: {why}", now=clock.now())


# ----------------------------------------------------------- what the merchant sees


@dataclass(frozen=True)
class Step:
    at: dt.datetime | None
    key: str
    zh: str
    en: str
    detail_zh: str = ""
    detail_en: str = ""
    now: bool = False  # the stage it is at, not a step done


def _bi(text: str) -> tuple[str, str]:
    """A stored "English / 中文" reason as (中文, English)."""
    en, sep, zh = text.partition(" / ")
    return (zh, en) if sep else (text, text)


def change_timeline(account: SettlementAccount) -> list[Step]:
    """The change's audited steps, in the merchant's words (no staff names), then where it is now."""
    steps: list[Step] = []
    for e in AuditEvent.objects.filter(object_type="settlement_account", object_id=str(account.id)).order_by("at"):
        after = e.after or {}
        if e.action == "settlement_account.change_requested":
            to = after.get("code_sent_to", "")
            steps.append(Step(e.at, "requested", "已提交变更申请", "Change requested",
                              f"验证码已发送至 {to}" if to else "", f"Code sent to {to}" if to else ""))
        elif e.action == "settlement_account.code_failed":
            steps.append(Step(e.at, "code_failed", "验证码错误", "Wrong code entered"))
        elif e.action == "settlement_account.code_confirmed":
            steps.append(Step(e.at, "code_confirmed", "验证码已确认", "Code confirmed"))
        elif e.action == "settlement_account.review_requested":
            reasons = [REVIEW_REASONS[r] for r in after.get("reasons", []) if r in REVIEW_REASONS]
            steps.append(Step(e.at, "review_requested", "已提交运营复核", "Sent for staff review",
                              "、".join(r[0] for r in reasons), ", ".join(r[1] for r in reasons)))
        elif e.action == "settlement_account.review_approved":
            steps.append(Step(e.at, "review_approved", "运营复核通过", "Approved in staff review"))
        elif e.action == "settlement_account.verified":
            steps.append(Step(e.at, "verified", "银行验证通过，已生效", "Verified by the bank, in effect"))
        elif e.action == "settlement_account.rejected":
            zh, en = _bi(str(after.get("reason", "")))
            steps.append(Step(e.at, "rejected", "未通过", "Not accepted", zh, en))
    now_at = {
        AccountStage.AWAITING_CODE: ("awaiting_code", "等待输入验证码", "Waiting for the code"),
        AccountStage.AWAITING_REVIEW: ("awaiting_review", "等待运营复核", "Awaiting staff review"),
        AccountStage.VERIFYING: ("verifying", "银行验证中", "Bank verification in progress"),
    }.get(AccountStage(account.stage))
    if now_at is not None and account.rejected_at is None:
        steps.append(Step(None, now_at[0], now_at[1], now_at[2], now=True))
    return steps
