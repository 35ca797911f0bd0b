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


def load_schedule(content: bytes, *, file_name: str, actor: str) -> LoadResult:
    """Load an official schedule (docs/formats.md): `date,type,name` rows, type holiday|workday.

    The whole file is checked before anything is written; loading a year again replaces
    it. Every load is audited.
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
                     after={"file": file_name, "sha256": digest, "days": len(rows)})
    return LoadResult(years, sum(1 for w, _ in rows.values() if not w), sum(1 for w, _ in rows.values() if w))
