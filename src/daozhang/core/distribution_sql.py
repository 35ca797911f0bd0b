"""Does the SQL the product sends route to one merchant's shard? The second check of issue 12.

core/distribution.py checks the schema; this checks the statements. On a database
distributed by `merchant_id` (Citus: docs/operations.md "Scaling out") a statement that
changes or locks rows of a distributed table must say which merchant it is about, or it
fans out to every shard (an UPDATE or DELETE by `id`), fails (`SELECT … FOR UPDATE` by
`id`), or has no matching key (`ON CONFLICT (id)`). `offences(sql)` reads one statement and
names each breach as (kind, table):

- `update` / `delete`: `UPDATE t … WHERE …` and `DELETE FROM t … WHERE …` on a distributed
  table whose WHERE (or, for `UPDATE … FROM`, a join condition in it) does not compare
  `merchant_id` of that table: `merchant_id = …`, `… = merchant_id`, `merchant_id IN …`,
  qualified by the table's name or alias, or unqualified;
- `lock`: `SELECT … FOR UPDATE | FOR NO KEY UPDATE | FOR SHARE | FOR KEY SHARE` — each
  distributed table the lock takes (those of the FROM clause, or those named after `OF`)
  needs `merchant_id = …` in the select's WHERE or JOIN … ON conditions: one merchant, as
  Citus runs a row lock on one shard only (`merchant_id IN (…)` is enough for an UPDATE or a
  DELETE, which Citus sends to the shards of those merchants; several merchants' rows are
  locked one merchant at a time, `core.keyed.lock_each`);
- `conflict`: `INSERT INTO t … ON CONFLICT (cols)` on a distributed table whose conflict
  target lacks `merchant_id`; `ON CONFLICT ON CONSTRAINT name` counts as one too (the
  columns cannot be seen from the text); `ON CONFLICT DO …` without a target is fine (every
  unique key of a distributed table includes `merchant_id`);
- `join`: `… JOIN t [alias] ON …` where t is a distributed table joined to another
  distributed table of the same FROM, and the ON condition does not compare t's
  `merchant_id` (the merchants table: its `id`) with `=`: Citus runs a join of two
  distributed tables on one shard only when it is on the distribution column (Django's
  `select_related` of a foreign key between merchant tables joins on the id alone: read the
  related rows by (merchant_id, id) instead, as `settlement.payouts.with_accounts` does);
- `cte_columns`: a common table expression with a column list over a UNION, INTERSECT or
  EXCEPT, `WITH x (a, b) AS (SELECT … UNION ALL SELECT …)`, whatever it reads: Citus's
  planner fails on it (issue 12); name the columns in the first branch instead
  (`SELECT … AS a, … AS b UNION ALL …`). Reported under the CTE's name.

The merchants table is distributed by its own `id` (distribution.KEY_COLUMN): there the
column is `id`. Which tables are distributed is distribution.classify's answer; a name that
is not one of the product's tables (a CTE, a temporary table, a set-returning function) is
not checked when the caller passes the product's tables.

A deliberately small reader, not a SQL parser (sqlparse, which Django brings, would only
tokenise, slower): comments and literals are blanked, quotes around identifiers dropped,
and the statement is read as tokens with their parenthesis depth. Known false positives
(an offence reported where the statement does route): a comparison written another way
(`merchant_id IS NOT DISTINCT FROM …`, a row value `(merchant_id, id) IN …`: write
`merchant_id = … AND id = …`), `ON CONFLICT ON CONSTRAINT`, a lock on a join whose only
merchant condition is on another table. Known false negatives, complex forms only: an
unqualified `merchant_id` compared inside a subquery of the WHERE counts for the outer
table; a join condition `a.merchant_id = b.merchant_id` counts for both tables even when
neither is compared with a value.

`Recorder` is the Django execute wrapper the PostgreSQL test pass installs on every
connection (daozhang.testing.pytest_pg); it keeps one example statement per offender,
fingerprinted (kind, table, the product's function that sent it), and the pass fails at
its end if there is any (the known ones issue 12 started from are all fixed).
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from daozhang.core.distribution import DISTRIBUTED, KEY_COLUMN, classify

UPDATE, DELETE, LOCK, CONFLICT, JOIN, CTE_COLUMNS = "update", "delete", "lock", "conflict", "join", "cte_columns"

# A quick look before reading: most statements are plain SELECTs and INSERTs.
_CANDIDATE = re.compile(r"\b(update|delete|conflict|share|join|union|intersect|except)\b", re.IGNORECASE)
_BLANK = re.compile(
    r"--[^\n]*|/\*.*?\*/"                       # comments
    r"|(\$\w*\$).*?\1"                          # dollar-quoted bodies
    r"|'(?:[^']|'')*'",                         # string literals
    re.DOTALL)
_TOKEN = re.compile(r'"[^"]*"(?:\."[^"]*"|\.\w+)*|\w+(?:\.(?:\w+|"[^"]*"))*|%\(\w+\)[sb]|%[sb]|::|<>|!=|<=|>=|\S')
# Words that end a FROM item's alias position or a clause.
_CLAUSE_WORDS = frozenset({
    "where", "join", "inner", "left", "right", "full", "cross", "natural", "on", "using", "group",
    "order", "limit", "offset", "for", "having", "window", "union", "except", "intersect",
    "returning", "set", "fetch", "lateral", "as", "select", "values", "default", "with", "from",
})


@dataclass(frozen=True, order=True)
class Offence:
    kind: str   # update, delete, lock, conflict, join, cte_columns
    table: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.table}"


@dataclass(frozen=True)
class _Tok:
    text: str   # lower case, identifiers unquoted
    depth: int  # parentheses around it


def _tokens(sql: str) -> list[_Tok]:
    text = _BLANK.sub(lambda m: " '' " if m.group(0).startswith(("'", "$")) else " ", sql)
    out: list[_Tok] = []
    depth = 0
    for m in _TOKEN.finditer(text):
        word = m.group(0)
        if word == "(":
            out.append(_Tok(word, depth))
            depth += 1
            continue
        if word == ")":
            depth = max(0, depth - 1)
            out.append(_Tok(word, depth))
            continue
        out.append(_Tok(word.replace('"', "").lower(), depth))
    return out


def _name(word: str) -> str:
    """A table's name without its schema."""
    return word.rsplit(".", 1)[-1]


def _is_ident(word: str) -> bool:
    return bool(re.fullmatch(r"[a-z_][\w.$]*", word))


def _part_start(toks: list[_Tok], i: int) -> int:
    """The index of the first token of the statement part toks[i] is in: back to its "("
    or the start of the text."""
    start = i
    while start > 0 and toks[start - 1].depth >= toks[i].depth:
        start -= 1
    return start


def _span(toks: list[_Tok], start: int, depth: int) -> int:
    """The index after the last token of the statement part at `depth` that starts at `start`."""
    j = start
    while j < len(toks) and toks[j].depth >= depth:  # a ")" closing the part is one level up
        j += 1
    return j


def _constrains(toks: list[_Tok], start: int, end: int, names: Collection[str], column: str,
                unqualified: bool, one: bool = False) -> bool:
    """Is `column` of the table known by `names` compared (=, IN; `one`: = only) anywhere in
    toks[start:end]?"""
    for k in range(start, end):
        word = toks[k].text
        if "." in word:
            qualifier, _, col = word.rpartition(".")
            if col != column or _name(qualifier) not in names:
                continue
        elif word != column or not unqualified:
            continue
        after = toks[k + 1].text if k + 1 < end else ""
        before = toks[k - 1].text if k > start else ""
        if after == "=" or before == "=" or (after == "in" and not one):
            return True
    return False


def _target(toks: list[_Tok], i: int) -> tuple[str, set[str], int] | None:
    """The table named at toks[i] (after UPDATE / DELETE FROM / INSERT INTO), its names
    (name and alias) and the index after them."""
    if i < len(toks) and toks[i].text == "only":
        i += 1
    if i >= len(toks) or not _is_ident(toks[i].text):
        return None
    table = _name(toks[i].text)
    names = {table}
    i += 1
    if i < len(toks) and toks[i].text == "as":
        i += 1
    if i < len(toks) and _is_ident(toks[i].text) and toks[i].text not in _CLAUSE_WORDS:
        names.add(toks[i].text)
        i += 1
    return table, names, i


def _from_items(toks: list[_Tok], start: int, end: int, depth: int) -> dict[str, set[str]]:
    """Tables of a FROM clause at `depth` in toks[start:end]: table → its names (with aliases)."""
    items: dict[str, set[str]] = {}
    k = start
    while k < end:
        tok = toks[k]
        if tok.depth == depth and tok.text in ("from", "join", ",", "using") and k + 1 < end:
            nxt = toks[k + 1]
            if nxt.depth == depth and _is_ident(nxt.text) and nxt.text not in _CLAUSE_WORDS \
                    and not (k + 2 < end and toks[k + 2].text == "("):  # a function, not a table
                table = _name(nxt.text)
                names = items.setdefault(table, {table})
                a = k + 2
                if a < end and toks[a].text == "as":
                    a += 1
                if a < end and toks[a].depth == depth and _is_ident(toks[a].text) \
                        and toks[a].text not in _CLAUSE_WORDS:
                    names.add(toks[a].text)
        k += 1
    return items


def _distributed(table: str, tables: Collection[str] | None) -> bool:
    return (tables is None or table in tables) and classify(table) == DISTRIBUTED


def _column(table: str) -> str:
    return KEY_COLUMN.get(table, "merchant_id")


def _read(sql: str, tables: Collection[str] | None) -> tuple[Offence, ...]:
    toks = _tokens(sql)
    found: set[Offence] = set()
    n = len(toks)
    for i, tok in enumerate(toks):
        prev = toks[i - 1].text if i else ""
        if tok.text == "update" and prev not in ("do", "for", "key", "no"):
            target = _target(toks, i + 1)
            if target is None or target[2] >= n or toks[target[2]].text != "set":
                continue
            table, names, after = target
            end = _span(toks, after, tok.depth)
            # From FROM / WHERE on (not the SET list); UPDATE … FROM's join condition is in the WHERE.
            where = next((k for k in range(after, end)
                          if toks[k].depth == tok.depth and toks[k].text in ("from", "where")), end)
            if _distributed(table, tables) and not _constrains(
                    toks, where, end, names, _column(table), unqualified=True):
                found.add(Offence(UPDATE, table))
        elif tok.text == "delete" and i + 1 < n and toks[i + 1].text == "from":
            target = _target(toks, i + 2)
            if target is None:
                continue
            table, names, after = target
            end = _span(toks, after, tok.depth)
            if _distributed(table, tables) and not _constrains(
                    toks, after, end, names, _column(table), unqualified=True):
                found.add(Offence(DELETE, table))
        elif tok.text == "insert" and i + 1 < n and toks[i + 1].text == "into":
            target = _target(toks, i + 2)
            if target is None:
                continue
            table = target[0]
            end = _span(toks, target[2], tok.depth)
            for k in range(target[2], end - 1):
                if toks[k].depth == tok.depth and toks[k].text == "on" and toks[k + 1].text == "conflict":
                    nxt = toks[k + 2].text if k + 2 < end else ""
                    if nxt == "(":
                        close = _span(toks, k + 3, tok.depth + 1)
                        columns = {_name(t.text) for t in toks[k + 3:close] if t.depth == tok.depth + 1}
                        ok = _column(table) in columns
                    else:
                        ok = nxt != "on"  # ON CONFLICT DO …: no target; ON CONSTRAINT: unseen
                    if not ok and _distributed(table, tables):
                        found.add(Offence(CONFLICT, table))
                    break
        elif tok.text == "for" and i + 1 < n and toks[i + 1].text in ("update", "share", "no", "key"):
            words = [t.text for t in toks[i + 1:i + 4]]
            if words[:1] not in (["update"], ["share"]) and words[:3] != ["no", "key", "update"] \
                    and words[:2] != ["key", "share"]:
                continue
            depth = tok.depth
            start = _part_start(toks, i)
            select = max((k for k in range(start, i) if toks[k].depth == depth and toks[k].text == "select"),
                         default=start)
            items = _from_items(toks, select, i, depth)
            # FOR UPDATE OF a, b: only those.
            k = i + 1 + (3 if words[:1] == ["no"] else 2 if words[:1] == ["key"] else 1)
            of: set[str] = set()
            if k < n and toks[k].text == "of":
                k += 1
                while k < n and _is_ident(toks[k].text) and toks[k].text not in ("nowait", "skip"):
                    of.add(_name(toks[k].text))
                    k += 2 if k + 1 < n and toks[k + 1].text == "," else 1
            for table, names in items.items():
                if of and not (names & of):
                    continue
                if _distributed(table, tables) and not _constrains(
                        toks, select, i, names, _column(table), unqualified=len(items) == 1, one=True):
                    found.add(Offence(LOCK, table))
        elif tok.text == "as" and prev == ")":
            name = _cte_with_columns_over_set_operation(toks, i)
            if name:
                found.add(Offence(CTE_COLUMNS, name))
        elif tok.text == "join":
            joined = _join_off_the_merchant(toks, i, tables)
            if joined:
                found.add(Offence(JOIN, joined))
    return tuple(sorted(found))


_JOIN_CONDITION_END = frozenset({"join", "where", "group", "order", "limit", "offset", "for", "having", "window",
                                 "union", "except", "intersect", "returning", "inner", "left", "right", "full",
                                 "cross", "natural", "on", "set", "values", ";"})


def _join_off_the_merchant(toks: list[_Tok], i: int, tables: Collection[str] | None) -> str | None:
    """The table joined at toks[i] (JOIN) if it and a table before it in the same FROM are
    distributed and the ON condition does not compare the joined table's merchant."""
    target = _target(toks, i + 1)
    if target is None or target[2] >= len(toks) or toks[target[2]].text != "on":
        return None  # a subquery, a function, LATERAL, USING (…): not read
    table, names, after = target
    if not _distributed(table, tables):
        return None
    depth = toks[i].depth
    before = _from_items(toks, _part_start(toks, i), i, depth)
    if not any(_distributed(t, tables) for t in before if t != table):
        return None
    end = after + 1
    while end < len(toks) and toks[end].depth >= depth and not (
            toks[end].depth == depth and toks[end].text in _JOIN_CONDITION_END):
        end += 1
    if _constrains(toks, after + 1, end, names, _column(table), unqualified=False, one=True):
        return None
    return table


def _cte_with_columns_over_set_operation(toks: list[_Tok], i: int) -> str | None:
    """The CTE's name if toks[i] is the AS of `name (columns) AS [NOT] [MATERIALIZED] (body)`
    and the body is a UNION, INTERSECT or EXCEPT at its own level."""
    close = toks[i - 1]
    opener = next((k for k in range(i - 2, -1, -1) if toks[k].text == "(" and toks[k].depth == close.depth), None)
    if opener is None or opener < 2 or not _is_ident(toks[opener - 1].text) \
            or toks[opener - 2].text not in ("with", ",", "recursive"):
        return None
    k = i + 1
    while k < len(toks) and toks[k].text in ("not", "materialized"):
        k += 1
    if k >= len(toks) or toks[k].text != "(":
        return None
    depth = toks[k].depth + 1
    end = _span(toks, k + 1, depth)
    if any(t.depth == depth and t.text in ("union", "intersect", "except") for t in toks[k + 1:end]):
        return _name(toks[opener - 1].text)
    return None


@lru_cache(maxsize=8192)
def _cached(sql: str, tables: frozenset[str] | None) -> tuple[Offence, ...]:
    return _read(sql, tables)


def offences(sql: str, tables: Collection[str] | None = None) -> tuple[Offence, ...]:
    """Every breach in one statement, sorted; `tables`: the product's tables (None: any name).

    Cached by text: the same statement is sent thousands of times with other parameters."""
    if not _CANDIDATE.search(sql):
        return ()
    return _cached(sql, frozenset(tables) if tables is not None else None)


# Modules that pass statements on rather than write them: the fingerprint names their caller.
_PLUMBING = ("daozhang.testing", "daozhang.core.distribution_sql", "daozhang.core.db")


def origin(frame: Any) -> str | None:
    """`module:function` of the innermost frame of the product (src/daozhang) on the stack
    from `frame` outwards, past the plumbing; None when no product code sent it (the tests'
    own statements: a test that updates a row by hand is not a flow of the product) or a
    migration did (they ran before the database is distributed, see docs/operations.md
    "Scaling out"; a multi-shard UPDATE in a later migration is slow, not wrong)."""
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if ".migrations." in module or module.startswith("django.db.migrations") \
                or module == "daozhang.core.migration_ops":  # the migrations' shared operations
            return None
        if (module == "daozhang" or module.startswith("daozhang.")) and not module.startswith(_PLUMBING):
            return f"{module}:{frame.f_code.co_qualname}"
        frame = frame.f_back
    return None


class Recorder:
    """A Django execute wrapper (`connection.execute_wrappers`) that notes every offending
    statement: fingerprint `kind: table: module:function` → one example statement."""

    def __init__(self, tables: Callable[[], Collection[str]]) -> None:
        self._tables = tables
        self._known: frozenset[str] | None = None
        self._lock = threading.Lock()
        self.found: dict[str, str] = {}

    def note(self, sql: str, frame: Any) -> None:
        if self._known is None:
            self._known = frozenset(self._tables())
        found = offences(sql, self._known)
        if not found:
            return
        where = origin(frame)
        if where is None:
            return
        with self._lock:
            for offence in found:
                self.found.setdefault(f"{offence}: {where}", " ".join(sql.split()))

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.note(sql, sys._getframe(1))
        return execute(sql, params, many, context)
