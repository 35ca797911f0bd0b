"""System checks that keep a production process from starting on secrets anyone can know.

Django runs the registered checks before every management command (`serve`, `worker`,
`settle`, `payouts`, `migrate`, …) and `daozhang.wsgi` runs them before it hands out the
application (a bare `gunicorn daozhang.wsgi`), so an Error here stops every process. They
are Errors only in production (core/mode.py): development runs on the embedded values.

A secret is refused when it is missing (the embedded development value is then in force),
is one of the embedded values, is derived from another secret (field keys used to be
derived from SECRET_KEY: whoever has one has both), or is too short to be a key. Each
message names the variable and the exact command that makes a good one.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from daozhang.core.mode import MODES, is_production

TAG = "daozhang"

MAKE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'
MAKE_FERNET = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'

# Values that are in the source (settings.py, this file's history): public, never secret.
EMBEDDED_SECRET_KEYS = {"dev-only-insecure-secret-change-me"}
EMBEDDED_PAN_TOKEN_KEYS = {"dev-only-pan-token-key-change-me"}
EMBEDDED_FIELD_KEYS = {"ZGV2LW9ubHktZmllbGQta2V5LW5vdC1hLXNlY3JldCE=", "Z4Jo2dp7Zw7-jEFZrxsapy3PY5dVSEXejA8N84p15NI="}
MIN_SECRET_KEY_LENGTH = 50
MIN_PAN_TOKEN_KEY_LENGTH = 32


def derived_field_key(secret_key: str) -> str:
    """The field key earlier versions derived from SECRET_KEY (recognised, never used)."""
    return base64.urlsafe_b64encode(hashlib.sha256(b"daozhang-field-key:" + secret_key.encode()).digest()).decode()


def _error(n: int, variable: str, problem: str, fix: str) -> checks.Error:
    return checks.Error(f"{variable}: {problem}.", hint=fix, id=f"daozhang.E{n:03d}")


@checks.register(TAG)
def check_mode(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    mode = getattr(settings, "DAOZHANG_MODE", "production")
    if mode not in MODES:
        return [_error(1, "DAOZHANG_MODE", f"unknown mode {mode!r}",
                       "Set DAOZHANG_MODE=production (the default) or DAOZHANG_MODE=development.")]
    if is_production() and settings.DEBUG:
        return [_error(5, "DAOZHANG_DEBUG", "debug pages in production show settings and data to anyone",
                       "Unset DAOZHANG_DEBUG (or set DAOZHANG_MODE=development on a developer's machine).")]
    return []


@checks.register(TAG)
def check_secrets(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if not is_production():
        return []
    errors: list[checks.CheckMessage] = []
    secret = str(settings.SECRET_KEY)
    make_secret = f"Make one with: {MAKE_SECRET} and set it in the service's environment."
    if secret in EMBEDDED_SECRET_KEYS or secret.startswith("django-insecure-"):
        errors.append(_error(2, "DAOZHANG_SECRET_KEY", "not set: the embedded development value is public",
                             make_secret))
    elif len(secret) < MIN_SECRET_KEY_LENGTH or len(set(secret)) < 5:
        errors.append(_error(2, "DAOZHANG_SECRET_KEY", f"too short or too plain (at least "
                             f"{MIN_SECRET_KEY_LENGTH} random characters)", make_secret))

    pan_key = str(settings.PAN_TOKEN_KEY)
    make_pan = f"Make one with: {MAKE_SECRET}. Keep it for good: card tokens are keyed by it."
    if pan_key in EMBEDDED_PAN_TOKEN_KEYS:
        errors.append(_error(3, "DAOZHANG_PAN_TOKEN_KEY", "not set: the embedded development value is public",
                             make_pan))
    elif pan_key == secret:
        errors.append(_error(3, "DAOZHANG_PAN_TOKEN_KEY", "the same as DAOZHANG_SECRET_KEY; each secret must be "
                             "independent", make_pan))
    elif len(pan_key) < MIN_PAN_TOKEN_KEY_LENGTH:
        errors.append(_error(3, "DAOZHANG_PAN_TOKEN_KEY", f"too short (at least {MIN_PAN_TOKEN_KEY_LENGTH} "
                             "random characters)", make_pan))
    errors += _field_key_problems(secret)
    return errors


def _field_key_problems(secret: str) -> list[checks.CheckMessage]:
    from cryptography.fernet import Fernet

    keys = [str(k) for k in settings.FIELD_ENCRYPTION_KEYS]
    make = f"Make one with: {MAKE_FERNET}"
    rotate = ("Put a new key first: DAOZHANG_FIELD_KEYS=NEW,OLD, run `daozhang rotate_field_keys`, then set "
              "DAOZHANG_FIELD_KEYS=NEW (docs/operations.md#key-rotation).")
    public = EMBEDDED_FIELD_KEYS | {derived_field_key(s) for s in EMBEDDED_SECRET_KEYS}
    derived = {derived_field_key(secret)}
    out: list[checks.CheckMessage] = []
    if not keys:
        return [_error(4, "DAOZHANG_FIELD_KEYS", "not set", make)]
    for i, key in enumerate(keys):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            out.append(_error(4, "DAOZHANG_FIELD_KEYS", f"key {i + 1} is not a Fernet key (32 bytes, url-safe "
                              "base64)", make))
    first = keys[0]
    if first in public:
        out.append(_error(4, "DAOZHANG_FIELD_KEYS", "not set: the embedded development key is public, and "
                          "every stored account number would be readable with it", f"{make}. {rotate}"))
    elif first in derived or first == secret:
        out.append(_error(4, "DAOZHANG_FIELD_KEYS", "derived from DAOZHANG_SECRET_KEY: whoever has one has both",
                          f"{make}. {rotate}"))
    for key in keys[1:]:
        if key in public or key in derived:
            out.append(checks.Warning(
                "DAOZHANG_FIELD_KEYS: an old embedded or derived key is still listed to decrypt with.",
                hint="Once `daozhang rotate_field_keys` has run, drop it from DAOZHANG_FIELD_KEYS.",
                id="daozhang.W004"))
    return out


def refuse_to_start_if_unsafe() -> None:
    """What a management command does before it runs, for a process that is not one (the WSGI
    application under a bare gunicorn): Errors stop it, Warnings are printed."""
    messages = checks.run_checks(include_deployment_checks=False)
    silenced = set(settings.SILENCED_SYSTEM_CHECKS)
    shown = [m for m in messages if m.id not in silenced]
    serious = [m for m in shown if m.is_serious()]
    for m in shown:
        if not m.is_serious():
            sys.stderr.write(f"WARNING {m}\n")
    if serious:
        raise ImproperlyConfigured("refusing to start:\n" + "\n".join(str(m) for m in serious))
