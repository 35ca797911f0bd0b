"""Keyset pages: the one pager of the API, the portal and the console.

A page is the rows after (or before) the last row seen, in a fixed order whose last column
is unique, never an OFFSET: page 10,000 of a million rows is as fast as page 1, and no row
is skipped or shown twice when new rows arrive meanwhile. "Previous" reads the other way
and is shown in the page's order, so it is as fast as "next" however deep the list.

A cursor carries the sort values of the row it stands for (opaque to clients: base64 of
JSON), so no query is needed to find where a page starts; a cursor is read back through
the model's own fields, and one no page could have given (malformed, a naive or
out-of-range time) is refused naming the parameter that carried it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, QuerySet

from daozhang.core.errors import DomainError
from daozhang.core.inputs import FIRST_DATE, LAST_DATE

M = TypeVar("M", bound=models.Model)
T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    rows: list[T]
    next: str | None  # the cursor of the rows after these, if any
    prev: str | None  # the cursor of the rows before these, if any
    is_first: bool  # reached without a cursor: nothing before it


def keyset(qs: QuerySet[M], order: tuple[str, ...], *, after: str | None, before: str | None, size: int,
           after_field: str = "cursor", before_field: str = "before") -> Page[M]:
    """One page of `qs` in `order` (its last column unique): the rows after the cursor
    `after`, or, going back, the rows before the cursor `before`."""
    if before:
        back = _position(qs, order, before, before_field)
        flipped = tuple(o[1:] if o.startswith("-") else f"-{o}" for o in order)
        rows = list(_beyond(qs.order_by(*flipped), flipped, back)[: size + 1])
        more = len(rows) > size
        rows = rows[:size][::-1]
        return Page(rows, _cursor(rows[-1], order) if rows else None,
                    _cursor(rows[0], order) if more and rows else None, not more)
    qs = qs.order_by(*order)
    if after:
        qs = _beyond(qs, order, _position(qs, order, after, after_field))
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    # A page reached by a cursor has rows before it: the ones it was reached from.
    return Page(rows, _cursor(rows[-1], order) if more and rows else None,
                _cursor(rows[0], order) if after and rows else None, not after)


def _fields(order: tuple[str, ...]) -> list[str]:
    return [o.lstrip("-") for o in order]


def _cursor(row: models.Model, order: tuple[str, ...]) -> str:
    return cursor_for(*(getattr(row, f"{name}_id" if _is_relation(row, name) else name) for name in _fields(order)))


def cursor_for(*values: Any) -> str:
    """The cursor of the row whose sort values are `values`, in the page's order."""
    return base64.urlsafe_b64encode(json.dumps(list(values), default=_exact).encode()).decode()


def _exact(value: Any) -> Any:
    # Times to the microsecond (Django's JSON encoder cuts them to milliseconds, which would
    # land a cursor before rows of the same millisecond); ids and others as text.
    return value.isoformat() if isinstance(value, dt.date | dt.time) else str(value)


def _is_relation(row: models.Model, name: str) -> bool:
    return bool(row._meta.get_field(name).is_relation)


def _position(qs: QuerySet[Any], order: tuple[str, ...], cursor: str, param: str) -> dict[str, Any]:
    names = _fields(order)
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(values, list) or len(values) != len(names):
            raise ValueError(cursor)
        out: dict[str, Any] = {}
        for name, raw in zip(names, values, strict=True):
            field = qs.model._meta.get_field(name)
            value = field.to_python(raw)
            if isinstance(value, dt.datetime) and (value.tzinfo is None or not FIRST_DATE <= value.date() <= LAST_DATE):
                raise ValueError(raw)  # only a position a page could have given
            out[name] = value
        return out
    except (ValueError, TypeError, UnicodeError, OverflowError, ValidationError) as exc:
        raise DomainError("invalid", param) from exc


def _beyond(qs: QuerySet[M], order: tuple[str, ...], last: dict[str, Any]) -> QuerySet[M]:
    """The rows of `qs` that come after the row whose sort values are `last`, in `order`."""
    fields = _fields(order)
    # The plain bound on the leading column first: with only the OR below, neither SQLite
    # nor PostgreSQL uses an index on it as a range (bench/portal.py: seconds instead of a
    # millisecond for page 2 of a million payments).
    lead = fields[0]
    qs = qs.filter(**{f"{lead}__{'lte' if order[0].startswith('-') else 'gte'}": last[lead]})
    # (a, b) after (x, y) in this order: a beyond x, or a = x and b beyond y, …
    cond = Q()
    for i, o in enumerate(order):
        step = Q(**{f"{fields[i]}__{'lt' if o.startswith('-') else 'gt'}": last[fields[i]]})
        for prior in fields[:i]:
            step &= Q(**{prior: last[prior]})
        cond |= step
    return qs.filter(cond)
