"""Chinese working days: an operator's schedule file first, then `chinesecalendar`.

A date that neither source covers is never guessed: `CalendarGap` names the year, and
whatever needed the answer (a settlement run, an arrival estimate) stops and says so.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from functools import lru_cache

import chinese_calendar
from django.db import transaction

from daozhang.audit import services as audit
from daozhang.core.errors import DomainError
from daozhang.dates.models import CalendarDay, CalendarYear


class CalendarGap(DomainError):
    def __init__(self, year: int) -> None:
        super().__init__("calendar_gap", "date", {"year": year}, 409)
        self.year = year


@dataclass(frozen=True)
class _LoadedYear:
    exceptions: dict[dt.date, bool]


@lru_cache(maxsize=64)
def _loaded_year(year: int, stamp: str) -> _LoadedYear | None:
    if not stamp:
        return None
    days = CalendarDay.objects.filter(date__year=year).values_list("date", "is_workday")
    return _LoadedYear(dict(days))


def _stamp(year: int) -> str:
    """Changes whenever the year is (re)loaded, so every process drops its cached copy."""
    loaded = CalendarYear.objects.filter(year=year).values_list("loaded_at", flat=True).first()
    return loaded.isoformat() if loaded else ""


def _bad_file(line: int, en: str, zh: str) -> DomainError:
    return DomainError("calendar_file", "file", {"line": line, "detail": (en, zh)})


def is_working_day(day: dt.date) -> bool:
    loaded = _loaded_year(day.year, _stamp(day.year))
    if loaded is not None:
        if day in loaded.exceptions:
            return loaded.exceptions[day]
        return day.weekday() < 5
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError as exc:
        raise CalendarGap(day.year) from exc


def next_working_day(day: dt.date) -> dt.date:
    """The first working day strictly after `day` (T+1)."""
    d = day + dt.timedelta(days=1)
    for _ in range(60):  # the longest Chinese holiday is far shorter
        if is_working_day(d):
            return d
        d += dt.timedelta(days=1)
    raise CalendarGap(d.year)


def covered(year: int) -> bool:
    if CalendarYear.objects.filter(year=year).exists():
        return True
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@dataclass(frozen=True)
class LoadResult:
    years: list[int]
    holidays: int
    workdays: int


# What every official schedule has (国务院办公厅节假日安排, 2008–2026): 16 to 23 weekday
# holidays a year, never fewer than the statutory days (11; 13 from 2025, when 春节 and
# 劳动节 gained a day each), and a closed weekday in each fixed-date festival's first days.
_STATUTORY_DAYS = ((2025, 13), (0, 11))
_FIXED_FESTIVALS = (((1, 1), (1, 3), "New Year's Day", "元旦"), ((5, 1), (5, 5), "Labour Day", "劳动节"),
                    ((10, 1), (10, 8), "National Day", "国庆节"))


def incomplete_years(rows: dict[dt.date, tuple[bool, str]]) -> list[tuple[str, str]]:
    """Why each year of a schedule cannot be a whole official year (en, zh), if it cannot:
    fewer closed weekdays than the statutory holidays, or a fixed-date festival with no
    closed weekday. A loaded year replaces the library's, so a partial file would turn
    every holiday it leaves out into a working day, and pay merchants on it."""
    problems = []
    for year in sorted({d.year for d in rows}):
        closed = [d for d, (work, _) in rows.items() if d.year == year and not work and d.weekday() < 5]
        need = next(n for since, n in _STATUTORY_DAYS if year >= since)
        if len(closed) < need:
            problems.append((f"{year} lists {len(closed)} closed weekdays; a whole official year has at least {need}",
                             f"{year} 年只列出 {len(closed)} 个工作日放假；完整的官方安排至少有 {need} 天"))
            continue
        for (m1, d1), (m2, d2), en, zh in _FIXED_FESTIVALS:
            if not any(dt.date(year, m1, d1) <= d <= dt.date(year, m2, d2) for d in closed):
                problems.append((f"{year} has no holiday on {en} ({m1}/{d1}–{m2}/{d2})",
                                 f"{year} 年{zh}（{m1}月{d1}日至{m2}月{d2}日）没有放假日"))
    return problems


def load_schedule(content: bytes, *, file_name: str, actor: str, force: bool = False) -> LoadResult:
    """Load an official schedule (docs/formats.md): `date,type,name` rows, type holiday|workday.

    The whole file is checked before anything is written; loading a year again replaces
    it. A year that cannot be a whole official year (`incomplete_years`) is refused unless
    `force` (an operator who knows better: a partial schedule published early). Every load
    is audited, forced or not.
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad_file(1, "not UTF-8", "不是 UTF-8 编码") from exc
    reader = csv.DictReader(io.StringIO(text))
    if [c.strip() for c in reader.fieldnames or []][:3] != ["date", "type", "name"]:
        raise _bad_file(1, "the header must be date,type,name", "表头须为 date,type,name")
    rows: dict[dt.date, tuple[bool, str]] = {}
    for line, row in enumerate(reader, start=2):
        try:
            day = dt.date.fromisoformat((row.get("date") or "").strip())
        except ValueError as exc:
            raise _bad_file(line, "the date is not YYYY-MM-DD", "日期格式须为 YYYY-MM-DD") from exc
        kind = (row.get("type") or "").strip()
        if kind not in ("holiday", "workday"):
            raise _bad_file(line, "type must be holiday or workday", "type 须为 holiday 或 workday")
        if day in rows:
            raise _bad_file(line, f"{day} listed twice", f"{day} 重复出现")
        rows[day] = (kind == "workday", (row.get("name") or "").strip()[:60])
    if not rows:
        raise _bad_file(2, "no dates", "没有日期")
    problems = incomplete_years(rows)
    if problems and not force:
        en, zh = problems[0]
        raise DomainError("calendar_incomplete", "file", {"detail": (en, zh)})
    years = sorted({d.year for d in rows})
    digest = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        for year in years:
            CalendarDay.objects.filter(date__year=year).delete()
            CalendarYear.objects.update_or_create(
                year=year, defaults={"file_name": file_name[:200], "sha256": digest, "loaded_by": actor})
        CalendarDay.objects.bulk_create(
            [CalendarDay(date=d, is_workday=w, name=n) for d, (w, n) in sorted(rows.items())])
        audit.record(actor=actor, action="calendar.load", obj_type="calendar", obj_id=",".join(map(str, years)),
                     after={"file": file_name, "sha256": digest, "days": len(rows),
                            "forced_past": [en for en, _ in problems] if force else []})
    return LoadResult(years, sum(1 for w, _ in rows.values() if not w), sum(1 for w, _ in rows.values() if w))
