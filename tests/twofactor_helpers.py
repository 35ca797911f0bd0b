"""Second-factor helpers for page and browser tests: enrol a user, compute their code.

Codes are computed from the device's secret the way an authenticator app does (RFC 6238,
django_otp.oath.TOTP). django-otp accepts each time step once (no replay) with one step of
drift, so `code_for` gives the first step not used yet; a test signing in more often than
that within 30 s moves the device's last used step back, as if time had passed.
"""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


def enrol(username: str) -> TOTPDevice:
    user = get_user_model().objects.get(username=username)
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def code_at(device: TOTPDevice, step: int) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = device.t0 + step * device.step
    return f"{totp.token():0{device.digits}d}"


def code_for(username: str, *, confirmed: bool = True) -> str:
    device = TOTPDevice.objects.filter(user__username=username, confirmed=confirmed).order_by("-id").first()
    assert device is not None, f"{username} has no authenticator device"
    now_step = int(time.time() - device.t0) // device.step
    if device.last_t >= now_step + device.tolerance:  # every step in reach used: as if 30 s passed
        device.last_t = now_step - 1
        device.save(update_fields=["last_t"])
    return code_at(device, max(now_step, device.last_t + 1))
