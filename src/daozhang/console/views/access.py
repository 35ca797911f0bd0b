"""Staff tokens (with their last use) and resetting a merchant user's second factor.

Every staff member sees and may revoke their own tokens; the admin role (access.*
permissions) sees and revokes everyone's. Resetting a merchant user's authenticator app
(a lost phone) is a takeover path, so it needs its own permission (admin role only), a
reason, and is audited; the user must enrol again at their next sign-in.
"""

from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from daozhang.access import twofactor
from daozhang.access.models import StaffToken
from daozhang.access.services import issue_staff_token, revoke_staff_token
from daozhang.console.forms import REASON, Form
from daozhang.console.views.common import Done, handle
from daozhang.core.errors import DomainError
from daozhang.merchants.models import Merchant, MerchantUser
from daozhang.web.access import staff_actor, staff_required
from daozhang.web.once import new_token, run_once
from daozhang.web.parse import field_errors


@staff_required()
def token_list(request: HttpRequest) -> HttpResponse:
    """The tokens, and a form that issues one to the signed-in staff member.

    A token acts with its user's permissions, so each person issues their own, after the
    sign-in's second factor; it is shown once (only its hash is kept, and the form's replay
    answer drops it), expires after DAOZHANG_STAFF_TOKEN_DAYS, and the issue is audited.
    """
    everyone = request.user.has_perm("access.view_stafftoken")
    created: dict[str, object] | None = None
    errors: dict[str, str] = {}
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        try:
            if not name:
                raise DomainError("required", "name")
            if len(name) > 60:
                raise DomainError("too_long", "name", {"max": 60})
            user = get_user_model().objects.get(pk=int(request.user.pk or 0))

            def issue() -> dict[str, object]:
                token, raw = issue_staff_token(user=user, name=name, actor=staff_actor(request))
                return {"prefix": token.prefix, "raw": raw,
                        "expires_at": token.expires_at.isoformat() if token.expires_at else ""}

            created, replayed = run_once(request, issue, redact=("raw",))
            if replayed:
                created = {**created, "replayed": True}
        except DomainError as err:
            errors = field_errors(request, err)
    qs = StaffToken.objects.select_related("user").order_by("-created_at")
    if not everyone:
        qs = qs.filter(user_id=int(request.user.pk or 0))
    resp = render(request, "console/tokens.html", {
        "section": "tokens", "tokens": qs[:200], "everyone": everyone, "now": timezone.now(),
        "created": created, "errors": errors, "form_token": new_token()}, status=400 if errors else 200)
    resp["Cache-Control"] = "no-store"  # the new token is on this page once
    return resp


@staff_required()
def token_revoke(request: HttpRequest, token_id: uuid.UUID) -> HttpResponse:
    token = get_object_or_404(StaffToken.objects.select_related("user"), id=token_id)
    if token.user_id != request.user.pk and not request.user.has_perm("access.change_stafftoken"):
        raise PermissionDenied
    form = Form.bound((), {})

    def run() -> Done:
        revoke_staff_token(token_id=token.id, actor=staff_actor(request))
        return (f"令牌 {token.prefix}… 已吊销。", f"Token {token.prefix}… revoked.", reverse("console:tokens"))

    return handle(request, form, run, "console/form.html", {
        "section": "tokens", "title_zh": "吊销令牌", "title_en": "Revoke token",
        "summary": [("令牌", "Token", f"{token.name} · {token.prefix}…"), ("用户", "User", token.user.get_username())],
        "note_zh": "吊销后，使用该令牌的调用立即得到 401。", "note_en": "Calls with this token answer 401 from now on.",
        "blocked": ("该令牌已吊销。", "This token is already revoked.") if token.revoked_at else None,
        "submit_zh": "确认吊销", "submit_en": "Revoke", "submit_id": "revoke-submit",
        "cancel": reverse("console:tokens"),
    })


@staff_required("merchants.view_merchant", "otp_totp.delete_totpdevice")
def two_factor_reset(request: HttpRequest, merchant_id: uuid.UUID, user_id: int) -> HttpResponse:
    m = get_object_or_404(Merchant, id=merchant_id)
    link = get_object_or_404(MerchantUser.objects.select_related("user"), merchant=m, user_id=user_id)
    user = get_user_model().objects.get(pk=link.user_id)
    form = Form.bound((REASON,), request.POST if request.method == "POST" else {})

    def run() -> Done:
        form.require("reason")
        twofactor.reset(user=user, actor=staff_actor(request), reason=form["reason"], merchant_id=m.id)
        name = user.get_username()
        return (f"{name} 的两步验证已重置，下次登录时须重新设置。",
                f"{name}'s two-factor sign-in was reset; they set it up again at their next sign-in.",
                reverse("console:merchant", args=[m.id]))

    return handle(request, form, run, "console/form.html", {
        "section": "merchants", "title_zh": "重置两步验证", "title_en": "Reset two-factor sign-in",
        "summary": [("商户", "Merchant", f"{m.short_name}（{m.merchant_no}）"),
                    ("用户", "User", user.get_username()),
                    ("两步验证", "Two-factor", ("已开启", "on") if twofactor.enrolled(user) else ("未开启", "off"))],
        "note_zh": "仅在核实身份后（如回拨登记的手机号）为丢失手机的用户重置。重置将记入审计日志。",
        "note_en": "Only for a user who lost their phone, after checking who they are (e.g. a call back to the "
                   "registered number). The reset is kept in the audit log.",
        "submit_zh": "确认重置", "submit_en": "Reset", "submit_id": "twofactor-reset-submit",
        "cancel": reverse("console:merchant", args=[m.id]),
    })
