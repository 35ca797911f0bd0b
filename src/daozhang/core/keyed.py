"""Reading, locking and updating a merchant's row by `(merchant_id, id)`: the default for
every table keyed that way (core.migration_ops.MerchantKeys), so a new flow gets it free.

A distributed engine sharding by merchant (docs/operations.md "Scaling out") routes a
statement to one shard only when it names the merchant: `SELECT … FOR UPDATE` by `id` alone
is refused there, and `UPDATE … WHERE id = …` goes to every shard. Two things make the
merchant part of each such statement without every caller remembering it:

- `MerchantKeyed`, the abstract base of such a model: `save()` of an existing row updates
  `WHERE merchant_id = … AND id = …` (the row's merchant never changes);
- its manager's `lock(id=…, merchant_id=…)`: `SELECT … FOR UPDATE` by both. A caller that
  knows only the id (a staff page's link) lets it read the merchant first, unlocked: a
  plain read by id is a lookup every engine can route, the lock then is by both.

On one database nothing changes but the extra equality in the WHERE clause.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


class MerchantQuerySet(models.QuerySet[M], Generic[M]):
    def of_merchant(self, merchant_id: uuid.UUID) -> MerchantQuerySet[M]:
        return self.filter(merchant_id=merchant_id)

    def lock(self, *, id: uuid.UUID, merchant_id: uuid.UUID | None = None) -> M | None:
        """The row `(merchant_id, id)` locked FOR UPDATE, or None if there is none."""
        if merchant_id is None:
            merchant_id = self.model._default_manager.filter(id=id).values_list("merchant_id", flat=True).first()
            if merchant_id is None:
                return None
        return self.select_for_update().filter(merchant_id=merchant_id, id=id).first()

    def get_locked(self, *, id: uuid.UUID, merchant_id: uuid.UUID | None = None) -> M:
        """As `lock`, for a row that must exist: `DoesNotExist` as `get()` raises it."""
        row = self.lock(id=id, merchant_id=merchant_id)
        if row is None:
            missing: type[Exception] = getattr(self.model, "DoesNotExist")  # noqa: B009 (typed as Model's)
            raise missing(f"{self.model.__name__} {id} of merchant {merchant_id}")
        return row


def lock_each(queryset: models.QuerySet[M], rows: Iterable[tuple[uuid.UUID, uuid.UUID]], *,
              no_key: bool = False) -> list[M]:
    """The rows `(merchant_id, id)` of `queryset` (its filters apply) locked FOR UPDATE, one
    merchant at a time: merchants in id order, each merchant's rows in id order.

    A set of many merchants' rows cannot be locked by one statement on a database
    distributed by merchant (a lock must name one shard); the merchants' order keeps two
    runs that lock overlapping sets from deadlocking, as the one statement's order did.
    On one database it is one statement per merchant instead of one in all."""
    by_merchant: dict[uuid.UUID, set[uuid.UUID]] = {}
    for merchant_id, row_id in rows:
        by_merchant.setdefault(merchant_id, set()).add(row_id)
    locked: list[M] = []
    for merchant_id in sorted(by_merchant):
        locked.extend(queryset.select_for_update(no_key=no_key, of=("self",))
                      .filter(merchant_id=merchant_id, id__in=sorted(by_merchant[merchant_id])).order_by("id"))
    return locked


class MerchantKeyed(models.Model):
    """The abstract base of a model keyed `(merchant_id, id)` in the database."""

    objects: Any = MerchantQuerySet.as_manager()

    class Meta:
        abstract = True

    def _do_update(self, base_qs: Any, using: Any, pk_val: Any, values: Any, update_fields: Any,
                   forced_update: Any) -> bool:
        # Django's save() updates `WHERE id = …`; the merchant makes it one shard's row.
        merchant_id = self.__dict__.get("merchant_id")
        if merchant_id is not None:
            base_qs = base_qs.filter(merchant_id=merchant_id)
        return bool(super()._do_update(base_qs, using, pk_val, values, update_fields, forced_update))
