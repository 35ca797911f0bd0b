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
from daozhang.merchants import services as merchants
from daozhang.merchants.models import BankAccountType, MerchantRole, SettlementAccount
from daozhang.portal.menu import ACCOUNT_MANAGEMENT
from daozhang.portal.views.common import field_errors
from daozhang.web.access import merchant_actor, merchant_of, merchant_required
from daozhang.web.once import new_token, run_once
from daozhang.web.parse import say


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
    return {
        "current": SettlementAccount.objects.filter(merchant=m, is_current=True).first(),
        "pending": SettlementAccount.objects.filter(merchant=m, is_current=False, verified_at__isnull=True,
                                                    rejected_at__isnull=True).first(),
        "history": SettlementAccount.objects.filter(merchant=m, is_current=False).order_by("-created_at")[:10],
        "types": BankAccountType.choices, "section": "me",
    }


@merchant_required
def settlement_account(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/settlement_account.html", {**_accounts(request), "form_token": new_token(),
                                                              "errors": {}, "q": {}})


@merchant_required
@owner_only
def settlement_account_change(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseRedirect(reverse("portal:settlement_account"))
    m = merchant_of(request)
    data = merchants.BankAccountInput(
        holder_name=request.POST.get("holder_name", ""), account_number=request.POST.get("account_number", ""),
        bank_name=request.POST.get("bank_name", ""), account_type=request.POST.get("account_type", ""),
        bank_branch_code=request.POST.get("bank_branch_code", "").strip())
    try:
        def change() -> dict[str, object]:
            acct = merchants.request_account_change(merchant_id=m.id, data=data, actor=merchant_actor(request))
            return {"account_id": str(acct.id)}

        _, replayed = run_once(request, change)
    except DomainError as err:
        q = {k: v for k, v in request.POST.items() if k != "account_number"}  # never echo the number back
        return render(request, "portal/settlement_account.html", {
            **_accounts(request), "form_token": request.POST.get("form_token", new_token()),
            "errors": field_errors(request, err), "q": q}, status=400)
    if not replayed:
        from daozhang.settlement.tasks import verify_pending_accounts

        transaction.on_commit(verify_pending_accounts.enqueue)
    messages.success(request, say(request, "已提交，银行验证通过后生效；验证期间暂停出款。",
                                  "Submitted. It takes effect once the bank verifies it; payouts wait until then."))
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
