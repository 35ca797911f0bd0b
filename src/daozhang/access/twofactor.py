"""The second factor: TOTP (an authenticator app) plus one-use backup codes, with django-otp.

Who must have it: staff (they move money and see every merchant) and merchant owners (they
change where the money goes and issue API keys) — always in production mode, and in
development mode when settings.REQUIRE_2FA is on. Anyone who enrolled is asked for a code
at every sign-in, required or not: enrolling is a promise the next sign-in keeps.

Verification is django-otp's: a TOTP code is accepted once (a code of a time step at or
before the last accepted one is refused: no replay), within one step of drift; every
device has its own doubling delay after wrong codes (1, 2, 4 … s). Backup codes are
deleted when used. Every enrolment, new set of backup codes and reset is audited.
"""

from __future__ import annotations

from base64 import b32encode
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from daozhang.audit import services as audit
from daozhang.merchants.models import MerchantRole, MerchantUser
from daozhang.merchants.selectors import merchant_of_user

BACKUP_CODES = 10
_TOTP_NAME = "authenticator"
_STATIC_NAME = "backup"


def mode() -> str:
    return str(getattr(settings, "DAOZHANG_MODE", "development"))


def policy_on() -> bool:
    """Is the second factor required of staff and owners in this deployment?"""
    return mode() == "production" or bool(settings.REQUIRE_2FA)


def should_have(user: Any) -> bool:
    """Staff and merchant owners: the people the policy covers (and the banner nags)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff:
        return True
    merchant_id = merchant_of_user(user.pk)  # then the link by (merchant_id, user_id): one shard's read
    return merchant_id is not None and MerchantUser.objects.filter(
        merchant_id=merchant_id, user_id=user.pk, role=MerchantRole.OWNER).exists()


def must_have(user: Any) -> bool:
    """Whether this user may not act without a verified second factor here."""
    return policy_on() and should_have(user)


def may_enrol(user: Any) -> bool:
    """Anyone who signs in to the portal or the console may turn it on (cashiers too)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff) or merchant_of_user(user.pk) is not None


def enrolled(user: Any) -> bool:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


def verified(request: HttpRequest) -> bool:
    check = getattr(request.user, "is_verified", None)
    return bool(check()) if callable(check) else False


def owes_code(request: HttpRequest) -> str | None:
    """What a signed-in session still owes: "verify" (enrolled, no code yet this session),
    "enrol" (required, not enrolled), or None."""
    user = request.user
    if not user.is_authenticated or verified(request):
        return None
    if enrolled(user):
        return "verify"
    if must_have(user):
        return "enrol"
    return None


def pending_device(user: Any) -> TOTPDevice:
    """The unconfirmed device the enrolment page shows, made on first view; the same one
    until confirmed, so reloading the page does not change the QR code under the user."""
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False, name=_TOTP_NAME).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_TOTP_NAME, confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The secret for typing into an app by hand, base32 in groups of four."""
    raw = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def _new_backup_codes(user: Any) -> list[str]:
    StaticDevice.objects.filter(user_id=user.pk).delete()
    static = StaticDevice.objects.create(user=user, name=_STATIC_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=c) for c in codes])
    return codes


def confirm(request: HttpRequest, *, code: str, actor: str, merchant_id: Any = None) -> list[str] | None:
    """Confirm the pending device with a code from the app: the session is verified at once
    and a fresh set of backup codes is returned (shown once). None: wrong code."""
    user = request.user
    device = pending_device(user)
    if verify_token(user, device.persistent_id, code.strip().replace(" ", "")) is None:
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user_id=user.pk).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_backup_codes(user)
        audit.record(actor=actor, action="user.2fa_enrol", obj_type="user", obj_id=user.pk, merchant_id=merchant_id,
                     after={"device": "totp", "backup_codes": BACKUP_CODES})
    otp_login(request, device)
    return codes


def verify(request: HttpRequest, *, code: str) -> tuple[bool, int]:
    """Check a code from the app or a backup code for the signed-in user; on success the
    session is verified. Returns (ok, seconds to wait): a wait when the code was not even
    checked because the device is still in its delay after earlier wrong codes."""
    user = request.user
    code = code.strip().replace(" ", "").lower()
    waits = []
    for device in [*TOTPDevice.objects.filter(user_id=user.pk, confirmed=True),
                   *StaticDevice.objects.filter(user_id=user.pk, confirmed=True)]:
        if not code:
            break
        if (len(code) == 6 and code.isdigit()) != isinstance(device, TOTPDevice):
            continue  # an app code is six digits, a backup code eight letters and digits
        allowed, why = device.verify_is_allowed()
        if not allowed:  # still waiting after earlier wrong codes: this one is not even checked
            if why and why.get("locked_until"):
                waits.append(max(1, int((why["locked_until"] - timezone.now()).total_seconds() + 0.999)))
            continue
        found = verify_token(user, device.persistent_id, code)
        if found is not None:
            otp_login(request, found)
            return True, 0
    return False, max(waits, default=0)


def backup_codes_left(user: Any) -> int:
    return StaticToken.objects.filter(device__user_id=user.pk, device__confirmed=True).count()


def renew_backup_codes(*, user: Any, actor: str, merchant_id: Any = None) -> list[str]:
    with transaction.atomic():
        codes = _new_backup_codes(user)
        audit.record(actor=actor, action="user.2fa_backup_codes", obj_type="user", obj_id=user.pk,
                     merchant_id=merchant_id, after={"backup_codes": BACKUP_CODES})
    return codes


def reset(*, user: Any, actor: str, reason: str, merchant_id: Any = None) -> bool:
    """Remove a user's devices (lost phone): they enrol again at their next sign-in, which
    a required policy forces. Returns whether there was anything to remove."""
    with transaction.atomic():
        had = (TOTPDevice.objects.filter(user_id=user.pk).exists()
               or StaticDevice.objects.filter(user_id=user.pk).exists())
        TOTPDevice.objects.filter(user_id=user.pk).delete()
        StaticDevice.objects.filter(user_id=user.pk).delete()
        audit.record(actor=actor, action="user.2fa_reset", obj_type="user", obj_id=user.pk, merchant_id=merchant_id,
                     before={"enrolled": had}, after={"enrolled": False, "reason": reason})
    return had
