"""Issuing, checking and revoking API credentials.

A key or token is found by the SHA-256 of what the caller sent, then judged: revoked or
expired answers 401 naming which (so an integrator knows to ask for a new one instead of
debugging), unknown answers the plain 401. Its last use is written at most once a minute
(`touch`), a conditional UPDATE that matches no row the rest of the time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from daozhang.access.models import ApiKey, Credential, StaffToken
from daozhang.audit import services as audit
from daozhang.core.errors import DomainError
from daozhang.merchants.models import Merchant

# How stale `last_used_at` may get before a call writes it again.
TOUCH_EVERY = dt.timedelta(seconds=60)

C = TypeVar("C", bound=Credential)


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _expiry(days: int | None, default_days: int) -> dt.datetime | None:
    days = default_days if days is None else days
    return timezone.now() + dt.timedelta(days=days) if days > 0 else None


def issue_api_key(*, merchant: Merchant, name: str, actor: str, days: int | None = None) -> tuple[ApiKey, str]:
    """Returns the key record and the raw key, shown once and never stored. `days`: its
    lifetime (None: settings.API_KEY_DAYS; 0: never expires)."""
    raw = "dzk_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(merchant=merchant, name=name, prefix=raw[:10], key_hash=hash_key(raw),
                                    expires_at=_expiry(days, settings.API_KEY_DAYS))
        audit.record(actor=actor, action="api_key.issue", obj_type="api_key", obj_id=key.id,
                     merchant_id=merchant.id, after={"name": name, "prefix": key.prefix,
                                                     "expires_at": key.expires_at.isoformat() if key.expires_at
                                                     else None})
    return key, raw


def issue_staff_token(*, user: User, name: str, actor: str = "system", days: int | None = None
                      ) -> tuple[StaffToken, str]:
    """A staff token for `user`, expiring after `days` (None: settings.STAFF_TOKEN_DAYS)."""
    raw = "dzs_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = StaffToken.objects.create(user=user, name=name, prefix=raw[:10], key_hash=hash_key(raw),
                                          expires_at=_expiry(days, settings.STAFF_TOKEN_DAYS))
        audit.record(actor=actor, action="staff_token.issue", obj_type="staff_token", obj_id=token.id,
                     after={"user": user.get_username(), "name": name, "prefix": token.prefix,
                            "expires_at": token.expires_at.isoformat() if token.expires_at else None})
    return token, raw


def judge(cred: C | None) -> C | None:
    """The credential if it may act now; raises 401 naming why a known one may not."""
    if cred is None:
        return None
    if cred.revoked_at is not None:
        raise DomainError("credential_revoked", "Authorization", {"at": cred.revoked_at.isoformat()}, status=401)
    if cred.expires_at is not None and cred.expires_at <= timezone.now():
        raise DomainError("credential_expired", "Authorization", {"at": cred.expires_at.isoformat()}, status=401)
    return cred


def touch(cred: Credential, address: str) -> None:
    """Record the use, at most once a minute: most calls find `last_used_at` fresh and write
    nothing; the UPDATE's own condition keeps concurrent callers from writing twice."""
    now = timezone.now()
    if cred.last_used_at is not None and cred.last_used_at > now - TOUCH_EVERY:
        return
    model: Any = type(cred)
    # A merchant's key is updated by (merchant_id, id): one shard's row (core.keyed).
    mine = {"merchant_id": cred.merchant_id} if isinstance(cred, ApiKey) else {}
    model.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - TOUCH_EVERY),
                              pk=cred.pk, **mine).update(last_used_at=now, last_used_from=address[:45])


def merchant_for_key(raw: str) -> tuple[Merchant, ApiKey] | None:
    key = judge(ApiKey.objects.select_related("merchant", "merchant__fee_plan").filter(
        key_hash=hash_key(raw)).first())
    return (key.merchant, key) if key else None


def staff_for_token(raw: str) -> StaffToken | None:
    return judge(StaffToken.objects.select_related("user").filter(
        key_hash=hash_key(raw), user__is_active=True, user__is_staff=True).first())


def revoke_api_key(*, key: ApiKey, actor: str) -> None:
    with transaction.atomic():
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit.record(actor=actor, action="api_key.revoke", obj_type="api_key", obj_id=key.id,
                     merchant_id=key.merchant_id, after={"prefix": key.prefix})


def revoke_staff_token(*, token_id: uuid.UUID, actor: str) -> StaffToken:
    """Revoke a staff token (idempotent: revoking a revoked token changes and records nothing)."""
    with transaction.atomic():
        token = StaffToken.objects.select_for_update().select_related("user").get(pk=token_id)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit.record(actor=actor, action="staff_token.revoke", obj_type="staff_token", obj_id=token.id,
                         after={"user": token.user.get_username(), "prefix": token.prefix})
    return token
