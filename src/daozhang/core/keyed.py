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

from django.db import connections, models

from daozhang.core.db import execute_pipelined
from daozhang.core.distribution import KEY_COLUMN

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


Rows = Iterable[tuple[uuid.UUID, uuid.UUID]]
R = TypeVar("R", bound=models.Model)


def attach(rows: list[R], field: str) -> list[R]:
    """`rows` with their foreign key `field` filled, the related rows read by (merchant_id,
    id): what `select_related(field)` would give, without its join on the related id alone,
    which a database distributed by merchant cannot run on one shard (docs/operations.md
    "Scaling out"). The related model is a merchant table keyed like the rows."""
    if not rows:
        return rows
    related = rows[0]._meta.get_field(field).related_model
    column = f"{field}_id"
    wanted = {(r.merchant_id, getattr(r, column)) for r in rows}  # type: ignore[attr-defined]
    found = {(x.merchant_id, x.pk): x for x in related._default_manager.filter(  # type: ignore[union-attr]
        merchant_id__in={m for m, _ in wanted}, id__in={i for _, i in wanted})}
    for r in rows:
        setattr(r, field, found[(r.merchant_id, getattr(r, column))])  # type: ignore[attr-defined]
    return rows


def lock_each(queryset: models.QuerySet[M], rows: Rows, *, no_key: bool = False) -> list[M]:
    """The rows `(merchant_id, id)` of `queryset` (its filters apply) locked FOR UPDATE, one
    merchant at a time: merchants in id order, each merchant's rows in id order."""
    return lock_in_merchant_order([(queryset, rows, no_key)])[0]


def _lock_sql(table: str, no_key: bool) -> str:
    key = "id" if table in KEY_COLUMN else "merchant_id"
    mode = "NO KEY UPDATE" if no_key else "UPDATE"
    return f'SELECT 1 FROM "{table}" WHERE "{key}" = %s AND "id" = ANY(%s) ORDER BY "id" FOR {mode}'  # noqa: S608


def lock_in_merchant_order(steps: list[tuple[models.QuerySet[Any], Rows, bool]]) -> list[list[Any]]:
    """Lock several tables' rows of many merchants: for each merchant in id order, each
    step's rows of it in id order (a step: a queryset, its rows as (merchant_id, id), and
    whether FOR NO KEY UPDATE will do). Returns each step's locked rows.

    A set of many merchants' rows cannot be locked by one statement on a database
    distributed by merchant: a row lock must name one shard. Taking them merchant by
    merchant, and within a merchant table by table in one order, keeps two runs that lock
    overlapping sets from deadlocking, as one statement per table did. The merchants table
    itself is keyed by `id` (`core.distribution.KEY_COLUMN`). SQLite has no row locks (one
    writer at a time): there each step is one read."""
    wanted: list[dict[uuid.UUID, set[uuid.UUID]]] = []
    for _qs, rows, _no_key in steps:
        by_merchant: dict[uuid.UUID, set[uuid.UUID]] = {}
        for merchant_id, row_id in rows:
            by_merchant.setdefault(merchant_id, set()).add(row_id)
        wanted.append(by_merchant)
    out: list[list[Any]] = [[] for _ in steps]
    if not steps:
        return out
    if not connections[steps[0][0].db].features.has_select_for_update:
        for k, (qs, _rows, _no_key) in enumerate(steps):
            every = [i for row_ids in wanted[k].values() for i in row_ids]
            out[k] = list(qs.filter(id__in=every).order_by("id")) if every else []
        return out
    # The locks: one statement per merchant and step, all sent in one round trip, each of
    # one text per table prepared once per connection (core.db.execute_pipelined; on Citus
    # each goes to its shard). They lock the rows asked for whatever the step's filters
    # (a row too many locked is harmless) and return nothing: the rows, now locked, are
    # read after them, one read per step, with the step's filters.
    statements: list[tuple[str, Any]] = []
    for merchant_id in sorted({m for by_merchant in wanted for m in by_merchant}):
        for k, (qs, _rows, no_key) in enumerate(steps):
            ids = wanted[k].get(merchant_id)
            if ids:
                statements.append((_lock_sql(qs.model._meta.db_table, no_key), [merchant_id, sorted(ids)]))
    execute_pipelined(statements)
    for k, (qs, _rows, _no_key) in enumerate(steps):
        every = [i for row_ids in wanted[k].values() for i in row_ids]
        if every:
            if qs.model._meta.db_table in KEY_COLUMN:  # the merchants themselves
                out[k] = list(qs.filter(id__in=every).order_by("id"))
            else:
                out[k] = list(qs.filter(merchant_id__in=list(wanted[k]), id__in=every).order_by("merchant_id", "id"))
    return out


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
