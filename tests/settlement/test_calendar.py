"""Working days: the library, make-up days, gaps that stop, and operator schedule files."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from daozhang.audit.models import AuditEvent
from daozhang.core.alerts import open_alerts
from daozhang.dates.calendar import CalendarGap, is_working_day, next_working_day
from daozhang.settlement.tasks import check_calendar_coverage

D = dt.date

SCHEDULE_2027 = """date,type,name
2027-01-01,holiday,元旦
2027-02-05,holiday,春节
2027-02-08,holiday,春节
2027-02-09,holiday,春节
2027-02-10,holiday,春节
2027-02-11,holiday,春节
2027-02-14,workday,春节调休
"""


@pytest.mark.parametrize(
    ("day", "expected"),
    [(D(2026, 9, 30), D(2026, 10, 8)), (D(2026, 2, 13), D(2026, 2, 14)), (D(2026, 10, 9), D(2026, 10, 10)),
     (D(2026, 11, 20), D(2026, 11, 23))],
)
def test_t_plus_one_respects_holidays_and_make_up_days(db, day, expected):
    assert next_working_day(day) == expected


def test_a_year_without_calendar_is_never_guessed(db):
    with pytest.raises(CalendarGap) as err:
        is_working_day(D(2027, 1, 4))
    assert err.value.year == 2027
    assert "2027" in err.value.message("en") and "2027" in err.value.message("zh-hans")
    with pytest.raises(CalendarGap):
        next_working_day(D(2026, 12, 31))


def test_loading_a_schedule_covers_the_year_and_is_audited(db, tmp_path, capsys):
    f = tmp_path / "2027.csv"
    f.write_text(SCHEDULE_2027, encoding="utf-8")
    call_command("calendar", "load", str(f))
    assert "loaded 2027: 6 holidays, 1 make-up working days" in capsys.readouterr().out
    assert next_working_day(D(2026, 12, 31)) == D(2027, 1, 4)
    assert is_working_day(D(2027, 2, 14))  # a make-up Sunday
    assert not is_working_day(D(2027, 2, 8))
    assert next_working_day(D(2027, 2, 4)) == D(2027, 2, 12)
    assert AuditEvent.objects.filter(action="calendar.load", object_id="2027").exists()
    # Loading a corrected file replaces the year.
    f.write_text("date,type,name\n2027-01-01,holiday,元旦\n", encoding="utf-8")
    call_command("calendar", "load", str(f))
    assert is_working_day(D(2027, 2, 8))


@pytest.mark.parametrize(
    ("content", "line"),
    [("day,kind\n2027-01-01,holiday\n", 1), ("date,type,name\n2027-13-01,holiday,x\n", 2),
     ("date,type,name\n2027-01-01,holiday,x\n2027-01-02,vacation,y\n", 3),
     ("date,type,name\n2027-01-01,holiday,x\n2027-01-01,holiday,x\n", 3)],
)
def test_bad_schedule_files_are_refused_whole_with_the_line(db, tmp_path, content, line):
    f = tmp_path / "bad.csv"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=f"line {line}"):
        call_command("calendar", "load", str(f))
    with pytest.raises(CalendarGap):
        is_working_day(D(2027, 1, 4))


def test_coverage_check_raises_an_alert_until_the_year_is_loaded(db, tmp_path, monkeypatch):
    from daozhang.core import clock

    monkeypatch.setattr(clock, "now", lambda: dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC))
    assert check_calendar_coverage.call() == [2027]
    assert [a.key for a in open_alerts("calendar_gap")] == ["2027"]
    assert check_calendar_coverage.call() == [2027]
    assert len(open_alerts("calendar_gap")) == 1
    f = tmp_path / "2027.csv"
    f.write_text(SCHEDULE_2027, encoding="utf-8")
    call_command("calendar", "load", str(f))
    assert open_alerts("calendar_gap") == []
