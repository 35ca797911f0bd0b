"""Values unique across all merchants, held in one registry (`core.models.UniqueValue`).

On one database a unique key on the table would do. On a database distributed by merchant
(docs/operations.md "Scaling out") a unique key must include `merchant_id`, so "this
merchant number exists once on the platform" cannot be a key of the merchants table. Such
a value is claimed here instead, in the transaction that writes the row it guards:

- `claim(namespace=…, value=…, merchant_id=…, field=…)` inserts (namespace, value) → merchant.
  A second merchant's claim of the same value is refused by the registry's primary key
  with `DomainError("duplicate", field)`, the error a unique key on the row gave; raised
  out of the caller's transaction, it rolls back everything the caller wrote. Two claims
  at once on PostgreSQL: the second waits on the key for the first one's transaction; if
  that commits, the second is refused, if it rolls back, the second holds the value;
- `owner(…)`: the merchant holding a value, or None; how a login finds its merchant
  before it reads the merchant's rows (one shard's read);
- `highest(…)`: the greatest value of a namespace with a prefix: the last number issued.

A domain names its namespaces "<app>.<what>" and keeps the values it claims equal to the
columns they guard (normalised the same way). A value that changes must move in the same
transaction (`release` the old one, `claim` the new one). Core imports no domain: the
registry knows neither merchants nor logins, only namespaces.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, connection, transaction

from daozhang.core.errors import DomainError
from daozhang.core.models import UniqueValue


def claim(*, namespace: str, value: str, merchant_id: uuid.UUID, field: str) -> None:
    """Hold `value` for the merchant, or raise `DomainError("duplicate", field)` if another
    merchant holds it. Must run inside the transaction that writes the guarded row: the
    claim lives and dies with it. Claiming a value the merchant already holds is a no-op."""
    if not connection.in_atomic_block:
        raise RuntimeError("core.unique.claim runs inside the transaction that writes the guarded row")
    try:
        with transaction.atomic():  # a savepoint: a refused claim leaves the caller's transaction usable
            UniqueValue.objects.create(namespace=namespace, value=value, merchant_id=merchant_id)
    except IntegrityError:
        if owner(namespace=namespace, value=value) != merchant_id:
            raise DomainError("duplicate", field) from None


def release(*, namespace: str, value: str, merchant_id: uuid.UUID) -> None:
    """Give up a value the merchant holds (when the guarded value changes or goes)."""
    UniqueValue.objects.filter(namespace=namespace, value=value, merchant_id=merchant_id).delete()


def owner(*, namespace: str, value: str) -> uuid.UUID | None:
    """The merchant holding `value`, or None."""
    found: uuid.UUID | None = (UniqueValue.objects.filter(namespace=namespace, value=value)
                               .values_list("merchant_id", flat=True).first())
    return found


def highest(*, namespace: str, prefix: str) -> str | None:
    """The greatest value of the namespace starting with `prefix` (the last one issued of a
    sequence whose values sort as they are issued), or None."""
    found: str | None = (UniqueValue.objects.filter(namespace=namespace, value__startswith=prefix)
                         .order_by("-value").values_list("value", flat=True).first())
    return found
