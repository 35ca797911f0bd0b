"""What a money flow contributes to a merchant's settlement day: the one contract per flow.

A flow (sales, risk holds, manual adjustments, and later refunds, deposits, …) stamps a
settlement date on each row it books (`settlement.stamping`) and registers a `Source`
once, from its AppConfig.ready(). The source says, in one place:
- its *figures*: the named sums it adds to a batch, each with its sign in the net and its
  label in both languages (they are stored in `SettlementBatch.figures`);
- its *tallies*: which table's rows, by which settlement-date column, give those sums (the
  settlement run turns them into one SQL statement per chunk with every other source's);
- its *statement lines* (结算单), and the *notes* a trace of the batch shows, with the
  wording of any note cause it adds to the catalogue.
Settlement runs, statements, traces and the missing-money enquiry iterate the registered
sources, so adding a flow is adding a source: none of them is edited.

Why a declaration rather than each flow writing its own SQL: the run must stay one
statement per chunk (`docs/performance.md`: within 4× of a bare GROUP BY over the day's
rows), and only settlement knows how to fold every source into it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class Figure:
    """One named sum in a batch. `sign` is how it counts in the net: +1, −1, or 0 (a count)."""

    key: str
    sign: int
    label: tuple[str, str]  # (English, 简体中文)

    def __post_init__(self) -> None:
        if not self.key or set(self.key) - _IDENT_CHARS:
            raise ValueError(f"figure key {self.key!r}: lower-case letters, digits and _ only")
        if self.sign not in (-1, 0, 1):
            raise ValueError(f"figure {self.key}: sign must be -1, 0 or +1")


@dataclass(frozen=True)
class Tally:
    """The rows of `table` paid on the settlement date in `date_column`, summed per merchant.

    `sums` maps a figure key to an SQL aggregate over those rows (`SUM(amount)`,
    `COUNT(*)`); `where` narrows the rows further. All are constants of the source's code,
    never input. The table needs a `merchant_id` column and should have an index leading
    with (`date_column`, merchant_id): each chunk reads one range of it.
    """

    table: str
    date_column: str
    sums: dict[str, str]
    where: str = ""


@dataclass(frozen=True)
class Line:
    """One line of a statement: amounts in fen, signed as they count for the merchant."""

    at: str
    kind: str  # "中文 English" label
    ref: str
    detail: str
    amount: int
    fee: int
    net: int


@dataclass(frozen=True)
class Note:
    """Something a trace of a batch points out (a manual adjustment, frozen money): a cause
    code of the catalogue and the values its wording is filled with."""

    code: str
    params: dict[str, object]


@dataclass(frozen=True)
class Wording:
    """A note cause a source adds to the trace catalogue, in both languages."""

    code: str
    title: tuple[str, str]
    explain: tuple[str, str]
    next_step: tuple[str, str]


def _no_notes(merchant_id: uuid.UUID, day: dt.date) -> list[Note]:
    return []


@dataclass(frozen=True)
class Source:
    name: str
    position: int  # where its figures and lines come in a batch (smaller first)
    figures: tuple[Figure, ...]
    tallies: tuple[Tally, ...]
    lines: Callable[[uuid.UUID, dt.date], Iterable[Line]]
    notes: Callable[[uuid.UUID, dt.date], Iterable[Note]] = _no_notes
    wordings: tuple[Wording, ...] = field(default=())

    def __post_init__(self) -> None:
        keys = {f.key for f in self.figures}
        for tally in self.tallies:
            if unknown := set(tally.sums) - keys:
                raise ValueError(f"source {self.name}: tally of {tally.table} sums undeclared figures {unknown}")


_registry: dict[str, Source] = {}


def register(source: Source) -> None:
    """Add a flow's source (from its AppConfig.ready()). Registering the same name again
    replaces it, so a reloaded app does not count twice."""
    taken = {f.key: s.name for s in _registry.values() if s.name != source.name for f in s.figures}
    if clash := [f.key for f in source.figures if f.key in taken]:
        raise ValueError(f"source {source.name}: figures {clash} already belong to another source")
    _registry[source.name] = source


def unregister(name: str) -> None:
    _registry.pop(name, None)


@contextmanager
def registered(source: Source) -> Iterator[Source]:
    """A source for the length of a block (tests of a new flow)."""
    register(source)
    try:
        yield source
    finally:
        unregister(source.name)


def all_sources() -> list[Source]:
    return sorted(_registry.values(), key=lambda s: (s.position, s.name))


def all_figures() -> list[Figure]:
    return [f for s in all_sources() for f in s.figures]


def all_notes(merchant_id: uuid.UUID, day: dt.date) -> list[Note]:
    return [n for s in all_sources() for n in s.notes(merchant_id, day)]


def all_lines(merchant_id: uuid.UUID, day: dt.date) -> list[Line]:
    return [ln for s in all_sources() for ln in s.lines(merchant_id, day)]


def wording(code: str) -> Wording | None:
    for s in _registry.values():
        for w in s.wordings:
            if w.code == code:
                return w
    return None
