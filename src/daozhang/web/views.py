"""Sign-in, the second factor, sign-out and the front door, shared by merchants and staff.

One login page for both: where a user lands is decided by who they are (a merchant user
goes to the portal, a staff member to the console), never by a parameter they can change.

Wrong passwords slow the next try down (access.throttle: per username, per address, per
both; "try again in 8 s"), they never lock an account. Each successful sign-in leaves a
signed "known device" cookie naming the user; a correct password from such a browser is
not held back by the per-username counter, which strangers can fill, only by its own
(username, address) counter. After the password, a user with an authenticator app gives
a code (/login/verify/); a user who must have one and has none sets it up first
(/login/two-factor/). Until then the session reaches nothing else (web.twofactor).
"""

from __future__ import annotations

from typing import Any

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from daozhang.access import throttle, twofactor
from daozhang.access.models import ThrottleScope
from daozhang.merchants.selectors import merchant_of_user
from daozhang.web.parse import say

DEVICE_COOKIE = "dz_device"
_DEVICE_SALT = "daozhang.web.known-device"
_DEVICE_USERS = 5  # a shared shop PC may know a few users


def landing_url(request: HttpRequest) -> str:
    user = request.user
    if not user.is_authenticated:
        return reverse("web:login")
    if merchant_of_user(user.pk) is not None:
        return reverse("portal:dashboard")
    if user.is_staff:
        return reverse("console:home")
    return reverse("web:login")


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(landing_url(request))


# ------------------------------------------------------------------- the known device

def known_users(request: HttpRequest) -> list[int]:
    """User ids this browser signed in as before (the signed cookie; forged or old: none)."""
    raw = request.COOKIES.get(DEVICE_COOKIE)
    if not raw:
        return []
    try:
        ids = signing.loads(raw, salt=_DEVICE_SALT, max_age=settings.LOGIN_DEVICE_DAYS * 86400)
    except signing.BadSignature:
        return []
    return [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []


def remember_device(request: HttpRequest, response: HttpResponse, user_id: int) -> None:
    ids = [user_id, *[i for i in known_users(request) if i != user_id]][:_DEVICE_USERS]
    response.set_cookie(DEVICE_COOKIE, signing.dumps(ids, salt=_DEVICE_SALT),
                        max_age=settings.LOGIN_DEVICE_DAYS * 86400, httponly=True, samesite="Lax",
                        secure=settings.SESSION_COOKIE_SECURE)


# ---------------------------------------------------------------------------- sign-in

class ThrottledLoginForm(AuthenticationForm):
    """Django's form, with the throttle's counters around the password check: refused
    before the password is looked at while a counter says wait; each failure counted."""

    wait = 0

    def clean(self) -> dict[str, Any]:
        request = self.request
        assert request is not None
        username = str(self.data.get("username", ""))
        counters = throttle.login_counters(username=username, address=throttle.client_address(request))
        applicable = [counters[ThrottleScope.PAIR], counters[ThrottleScope.ADDRESS]]
        if not self._known_device(username):
            applicable.append(counters[ThrottleScope.USER])
        self.wait = throttle.wait_seconds(applicable) if username else 0
        if self.wait:
            raise ValidationError("throttled", code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            if username:
                throttle.record_failure(list(counters.values()))
            raise
        throttle.clear([counters[ThrottleScope.PAIR]])
        return cleaned

    def _known_device(self, username: str) -> bool:
        ids = known_users(self.request) if self.request is not None else []
        if not ids:
            return False
        from django.contrib.auth import get_user_model

        model = get_user_model()
        return model.objects.filter(pk__in=ids, **{model.USERNAME_FIELD: username}).exists()


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return ""


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True
    form_class = ThrottledLoginForm

    def get_default_redirect_url(self) -> str:
        return landing_url(self.request)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        remember_device(self.request, response, form.get_user().pk)
        owes = twofactor.owes_code(self.request)
        if owes:
            target = reverse("web:two_factor_verify" if owes == "verify" else "web:two_factor")
            nxt = _next(self.request)
            response["Location"] = f"{target}?{urlencode({'next': nxt})}" if nxt else target
        return response

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        wait = getattr(form, "wait", 0)
        if wait:
            response.status_code = 429
            response["Retry-After"] = str(wait)
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx["wait"] = getattr(ctx.get("form"), "wait", 0)
        return ctx


def admin_login(request: HttpRequest) -> HttpResponse:
    """/admin/login/ is this page too, so the admin gets the same throttle and second factor."""
    nxt = _next(request) or reverse("admin:index")
    return HttpResponseRedirect(f"{reverse('web:login')}?{urlencode({'next': nxt})}")


logout = require_POST(auth_views.LogoutView.as_view(next_page="web:login"))


# ---------------------------------------------------------------------- second factor

class CodeForm(forms.Form):
    code = forms.CharField(max_length=20, strip=True)


def _actor(request: HttpRequest) -> tuple[str, Any]:
    merchant_id = merchant_of_user(request.user.pk)
    who = request.user.get_username()
    if merchant_id is not None:
        return f"merchant-user:{who}", merchant_id
    return f"staff:{who}", None


@never_cache
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The code after the password: from the app, or one of the backup codes."""
    if not request.user.is_authenticated:
        return HttpResponseRedirect(reverse("web:login"))
    owes = twofactor.owes_code(request)
    if owes != "verify":
        return HttpResponseRedirect(_next(request) or (reverse("web:two_factor") if owes else landing_url(request)))
    error, status = "", 200
    if request.method == "POST":
        ok, wait = twofactor.verify(request, code=request.POST.get("code", ""))
        if ok:
            request.session.cycle_key()  # a new session id once fully signed in
            return HttpResponseRedirect(_next(request) or landing_url(request))
        if wait:
            error, status = say(request, f"动态码错误次数过多，请 {wait} 秒后再试。",
                                f"Too many wrong codes; try again in {wait} s."), 429
        else:
            error, status = say(request, "动态码不正确或已使用过。", "The code is wrong or was already used."), 400
    return render(request, "web/two_factor_verify.html", {"error": error, "next": _next(request)}, status=status)


@never_cache
def two_factor(request: HttpRequest) -> HttpResponse:
    """Set up the authenticator app (QR code and the secret to type), confirm it with a code,
    see the backup codes once; later: how many backup codes are left, and a new set."""
    if not request.user.is_authenticated:
        return HttpResponseRedirect(f"{reverse('web:login')}?next={reverse('web:two_factor')}")
    if not twofactor.may_enrol(request.user):
        return HttpResponseRedirect(landing_url(request))
    owes = twofactor.owes_code(request)
    if owes == "verify":  # enrolled already: prove it before seeing or changing anything
        return HttpResponseRedirect(f"{reverse('web:two_factor_verify')}?next={reverse('web:two_factor')}")
    actor, merchant_id = _actor(request)
    ctx: dict[str, Any] = {"next": _next(request), "error": ""}
    status = 200
    if twofactor.enrolled(request.user):
        if request.method == "POST" and request.POST.get("action") == "renew":
            ctx["codes"] = twofactor.renew_backup_codes(user=request.user, actor=actor, merchant_id=merchant_id)
        ctx.update(enrolled=True, left=twofactor.backup_codes_left(request.user))
    else:
        if request.method == "POST":
            codes = twofactor.confirm(request, code=request.POST.get("code", ""), actor=actor,
                                      merchant_id=merchant_id)
            if codes is not None:
                request.session.cycle_key()
                messages.success(request, say(request, "两步验证已开启。", "Two-factor sign-in is on."))
                ctx.update(enrolled=True, codes=codes, left=len(codes))
                resp = render(request, "web/two_factor.html", ctx)
                resp["Cache-Control"] = "no-store"
                return resp
            ctx["error"] = say(request, "动态码不正确，请输入应用中当前显示的 6 位数字。",
                               "The code is wrong: type the 6 digits the app shows now.")
            status = 400
        device = twofactor.pending_device(request.user)
        ctx.update(enrolled=False, secret=twofactor.secret_text(device),
                   qr_svg=segno.make(device.config_url, error="m").svg_inline(
                       scale=4, title="TOTP QR code", svgclass="qr"))
    resp = render(request, "web/two_factor.html", ctx, status=status)
    resp["Cache-Control"] = "no-store"  # the secret and the backup codes are on this page
    return resp
