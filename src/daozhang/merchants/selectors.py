"""Reads of merchants and their portal logins."""

from __future__ import annotations

import uuid
from typing import Any

from daozhang.core import unique
from daozhang.merchants.models import UNIQUE_USER, MerchantUser


def merchant_of_user(user_id: Any) -> uuid.UUID | None:
    """The merchant whose portal login the auth user is, from the registry (core.unique), or
    None (staff, or no login at all)."""
    if user_id is None:
        return None
    return unique.owner(namespace=UNIQUE_USER, value=str(user_id))


def merchant_user_of(user_id: Any) -> MerchantUser | None:
    """The auth user's portal login with its merchant and fee plan, or None.

    The merchant comes from the registry first, then the link is read by (merchant_id,
    user_id): on a database distributed by merchant, one shard's read, where a lookup by
    the user alone would ask every shard, on every portal request."""
    merchant_id = merchant_of_user(user_id)
    if merchant_id is None:
        return None
    link: MerchantUser | None = (MerchantUser.objects.select_related("merchant", "merchant__fee_plan")
                                 .filter(merchant_id=merchant_id, user_id=user_id).first())
    return link
