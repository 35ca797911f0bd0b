"""Issuing and checking API credentials."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from daozhang.access.models import ApiKey, StaffToken
from daozhang.audit import services as audit
from daozhang.merchants.models import Merchant


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_api_key(*, merchant: Merchant, name: str, actor: str) -> tuple[ApiKey, str]:
    """Returns the key record and the raw key, shown once and never stored."""
    raw = "dzk_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(merchant=merchant, name=name, prefix=raw[:10], key_hash=hash_key(raw))
        audit.record(actor=actor, action="api_key.issue", obj_type="api_key", obj_id=key.id,
                     merchant_id=merchant.id, after={"name": name, "prefix": key.prefix})
    return key, raw


def issue_staff_token(*, user: User, name: str) -> tuple[StaffToken, str]:
    raw = "dzs_" + secrets.token_urlsafe(32)
    token = StaffToken.objects.create(user=user, name=name, prefix=raw[:10], key_hash=hash_key(raw))
    return token, raw


def merchant_for_key(raw: str) -> tuple[Merchant, ApiKey] | None:
    key = (
        ApiKey.objects.select_related("merchant", "merchant__fee_plan")
        .filter(key_hash=hash_key(raw), revoked_at__isnull=True).first()
    )
    return (key.merchant, key) if key else None


def staff_for_token(raw: str) -> StaffToken | None:
    return (
        StaffToken.objects.select_related("user")
        .filter(key_hash=hash_key(raw), revoked_at__isnull=True, user__is_active=True,
                user__is_staff=True).first()
    )


def revoke_api_key(*, key: ApiKey, actor: str) -> None:
    with transaction.atomic():
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit.record(actor=actor, action="api_key.revoke", obj_type="api_key", obj_id=key.id,
                     merchant_id=key.merchant_id, after={"prefix": key.prefix})
