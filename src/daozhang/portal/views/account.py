"""Me → Account management (我的 → 账户管理): profile, settlement account change, API keys
and password. Changes to money routing and keys are for the merchant's owner only; a
cashier login sees the menu but gets 403 on those pages."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from daozhang.access.models import ApiKey
from daozhang.access.services import issue_api_key, revoke_api_key
from daozhang.audit import services as audit
from daozhang.core.errors import DomainError
from daozhang.core.money import ppm_to_percent
from daozhang.core.pan import carries_pan
from daozhang.merchants.models import AccountStage, BankAccountType, Merchant, MerchantRole, SettlementAccount
from daozhang.merchants.services import BankAccountInput
from daozhang.notifications.codes import send_code
from daozhang.notifications.providers import ProviderError
from daozhang.portal.menu import ACCOUNT_MANAGEMENT
from daozhang.settlement import accounts
from daozhang.web.access import merchant_actor, merchant_of, merchant_required
from daozhang.web.once import new_token, run_once
from daozhang.web.parse import field_errors, say


def owner_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.merchant_user.role != MerchantRole.OWNER:  # type: ignore[attr-defined]
            raise PermissionDenied
        return view(request, *args, **kwargs)
    return wrapped


@merchant_required
def me(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/me.html", {"menu": ACCOUNT_MANAGEMENT, "merchant": merchant_of(request),
                                              "section": "me"})


@merchant_required
def profile(request: HttpRequest) -> HttpResponse:
    m = merchant_of(request)
    plan = m.fee_plan
    rates = {name: ppm_to_percent(getattr(plan, f"{name}_rate_ppm")) + "%"
             for name in ("wallet", "quickpass", "debit", "credit")}
    return render(request, "portal/profile.html", {"m": m, "plan": plan, "rates": rates, "section": "me"})


def _accounts(request: HttpRequest) -> dict[str, Any]:
    m = merchant_of(request)
    pending = accounts.pending_accounts().filter(merchant=m).order_by("-created_at").first()
    history = list(SettlementAccount.objects.filter(merchant=m, is_current=False).order_by("-created_at")[:10])
    # The change to show step by step: the one on its way, else the latest one that ended.
    shown = pending or SettlementAccount.objects.filter(merchant=m).exclude(requested_by="").order_by(
        "-created_at").first()
    return {
        "current": SettlementAccount.objects.filter(merchant=m, is_current=True).first(),
        "pending": pending,
        "awaiting_code": pending is not None and pending.stage == AccountStage.AWAITING_CODE,
        "shown": shown,
        "timeline": accounts.change_timeline(shown) if shown is not None else [],
        "history": history,
        "types": BankAccountType.choices, "section": "me",
    }


def _account_page(request: HttpRequest, errors: dict[str, str] | None = None, status: int = 200,
                  q: dict[str, Any] | None = None) -> HttpResponse:
    ctx = _accounts(request)
    errors = dict(errors or {})
    if "code" in errors and not ctx["awaiting_code"]:
        errors["form"] = errors.pop("code")  # the change ended (expired, too many tries): say so on top
    resp = render(request, "portal/settlement_account.html", {
        **ctx, "form_token": request.POST.get("form_token") or new_token(), "errors": errors, "q": q or {}},
        status=status)
    resp["Cache-Control"] = "no-store"
    return resp


@merchant_required
def settlement_account(request: HttpRequest) -> HttpResponse:
    return _account_page(request)


@carries_pan("account_number")  # encrypted at rest (merchants.SettlementAccount), shown masked
@merchant_required
@owner_only
def settlement_account_change(request: HttpRequest) -> HttpResponse:
    """Step 1: the owner asks for the change; a one-time code goes to the registered contact."""
    if request.method != "POST":
        return HttpResponseRedirect(reverse("portal:settlement_account"))
    m = merchant_of(request)
    data = BankAccountInput(
        holder_name=request.POST.get("holder_name", ""), account_number=request.POST.get("account_number", ""),
        bank_name=request.POST.get("bank_name", ""), account_type=request.POST.get("account_type", ""),
        bank_branch_code=request.POST.get("bank_branch_code", "").strip())
    try:
        def change() -> dict[str, object]:
            c = accounts.request_account_change(merchant_id=m.id, data=data, user_id=request.user.pk,
                                                actor=merchant_actor(request))
            return {"account_id": str(c.account.id), "code": c.code, "channel": c.channel, "recipient": c.recipient,
                    "sent_to": c.account.code_sent_to,
                    "minutes": max(1, round((c.expires_at - c.account.created_at).total_seconds() / 60))}

        # The code and the address are not kept for a replay: a double submit sends nothing twice.
        done, replayed = run_once(request, change, redact=("code", "recipient"))
        if not replayed:
            _send_code(m, done)
    except DomainError as err:
        q = {k: v for k, v in request.POST.items() if k != "account_number"}  # never echo the number back
        return _account_page(request, field_errors(request, err), 400, q)
    messages.success(request, say(request, f"验证码已发送至 {done['sent_to']}，请在 {done['minutes']} 分钟内输入"
                                           "以确认变更。",
                                  f"A code was sent to {done['sent_to']}: enter it within {done['minutes']} minutes "
                                  "to confirm the change."))
    return HttpResponseRedirect(reverse("portal:settlement_account"))


def _send_code(m: Merchant, done: dict[str, Any]) -> None:
    account_id = uuid.UUID(str(done["account_id"]))
    try:
        send_code(merchant=m, channel=str(done["channel"]), recipient=str(done["recipient"]), code=str(done["code"]),
                  minutes=int(done["minutes"]), idempotency_key=f"account-change-code:{account_id}")
    except ProviderError as exc:
        accounts.code_not_sent(account_id=account_id, error=str(exc))
        raise DomainError("code_not_sent", "form", {"recipient": done["sent_to"]}, status=503) from exc


@merchant_required
@owner_only
def settlement_account_confirm(request: HttpRequest) -> HttpResponse:
    """Step 2: the owner types the code. Not under a form token: a wrong code must count
    (committed) even though the page answers with an error."""
    if request.method != "POST":
        return HttpResponseRedirect(reverse("portal:settlement_account"))
    m = merchant_of(request)
    try:
        acct = accounts.confirm_account_change(merchant_id=m.id, code=request.POST.get("code", ""),
                                               user_id=request.user.pk, actor=merchant_actor(request))
    except DomainError as err:
        return _account_page(request, field_errors(request, err), 400)
    if acct.stage == AccountStage.VERIFYING:
        from daozhang.settlement.tasks import verify_pending_accounts

        transaction.on_commit(verify_pending_accounts.enqueue)
        messages.success(request, say(request, "验证码正确。新账户正在进行银行验证，验证通过后生效；验证期间暂停出款。",
                                      "Code confirmed. The bank is verifying the new account; it takes effect once "
                                      "verified, and payouts wait until then."))
    else:
        messages.success(request, say(request, "验证码正确。此变更须经运营人员复核，复核通过并经银行验证后生效；"
                                               "期间暂停出款。",
                                      "Code confirmed. This change is reviewed by our staff, then verified by the "
                                      "bank; it takes effect after both, and payouts wait until then."))
    return HttpResponseRedirect(reverse("portal:settlement_account"))


@merchant_required
@owner_only
def api_keys(request: HttpRequest) -> HttpResponse:
    m = merchant_of(request)
    created: dict[str, object] | None = None
    errors: dict[str, str] = {}
    if request.method == "POST":
        name = request.POST.get("name", "").strip()[:60]
        try:
            if not name:
                raise DomainError("required", "name")

            def issue() -> dict[str, object]:
                key, raw = issue_api_key(merchant=m, name=name, actor=merchant_actor(request))
                return {"prefix": key.prefix, "raw": raw}

            created, replayed = run_once(request, issue, redact=("raw",))
            if replayed:
                created = {**created, "replayed": True}
        except DomainError as err:
            errors = field_errors(request, err)
    keys = ApiKey.objects.filter(merchant=m).order_by("-created_at")
    resp = render(request, "portal/api_keys.html", {"keys": keys, "created": created, "errors": errors,
                                                     "form_token": new_token(), "section": "me",
                                                     "now": timezone.now()},
                  status=400 if errors else 200)
    resp["Cache-Control"] = "no-store"  # the new key is on this page once; keep it out of caches
    return resp


@merchant_required
@owner_only
def api_key_revoke(request: HttpRequest, key_id: uuid.UUID) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseRedirect(reverse("portal:api_keys"))
    key = ApiKey.objects.filter(merchant=merchant_of(request), id=key_id).first()
    if key is None:
        raise Http404
    if key.revoked_at is None:
        revoke_api_key(key=key, actor=merchant_actor(request))
    messages.success(request, f"{key.prefix}… " + say(request, "已吊销", "revoked"))
    return HttpResponseRedirect(reverse("portal:api_keys"))


@merchant_required
def password(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            audit.record(actor=merchant_actor(request), action="user.password_change", obj_type="user",
                         obj_id=user.pk, merchant_id=merchant_of(request).id)
        update_session_auth_hash(request, user)
        messages.success(request, say(request, "密码已修改", "Password changed"))
        return HttpResponseRedirect(reverse("portal:me"))
    return render(request, "portal/password.html", {"form": form, "section": "me"},
                  status=400 if form.errors else 200)
