"""Working days: the library, make-up days, gaps that stop, and operator schedule files."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.management import CommandError, call_command

from daozhang.audit.models import AuditEvent
from daozhang.core.alerts import open_alerts
from daozhang.dates.calendar import CalendarGap, is_working_day, next_working_day
from daozhang.settlement.tasks import check_calendar_coverage

D = dt.date

# A whole year in the official form (a test fixture shaped like one, not the real 2027 schedule).
SCHEDULE_2027 = """date,type,name
2027-01-01,holiday,元旦
2027-02-05,holiday,春节
2027-02-08,holiday,春节
2027-02-09,holiday,春节
2027-02-10,holiday,春节
2027-02-11,holiday,春节
2027-02-14,workday,春节调休
2027-04-05,holiday,清明节
2027-04-25,workday,劳动节调休
2027-05-03,holiday,劳动节
2027-05-04,holiday,劳动节
2027-05-05,holiday,劳动节
2027-06-09,holiday,端午节
2027-09-15,holiday,中秋节
2027-09-26,workday,国庆节调休
2027-10-01,holiday,国庆节
2027-10-04,holiday,国庆节
2027-10-05,holiday,国庆节
2027-10-06,holiday,国庆节
2027-10-07,holiday,国庆节
2027-10-09,workday,国庆节调休
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
    assert "loaded 2027: 17 holidays, 4 make-up working days" in capsys.readouterr().out
    assert next_working_day(D(2026, 12, 31)) == D(2027, 1, 4)
    assert is_working_day(D(2027, 2, 14))  # a make-up Sunday
    assert not is_working_day(D(2027, 2, 8))
    assert next_working_day(D(2027, 2, 4)) == D(2027, 2, 12)
    assert AuditEvent.objects.filter(action="calendar.load", object_id="2027").exists()
    # Loading a corrected file replaces the year.
    f.write_text(SCHEDULE_2027.replace("2027-02-08,holiday,春节\n", "").replace("2027-02-10", "2027-02-12"),
                 encoding="utf-8")
    call_command("calendar", "load", str(f))
    assert is_working_day(D(2027, 2, 8)) and not is_working_day(D(2027, 2, 12))


@pytest.mark.parametrize(
    ("content", "reason"),
    [("date,type,name\n2027-01-01,holiday,元旦\n",
      "2027 lists 1 closed weekdays; a whole official year has at least 13"),
     (SCHEDULE_2027.replace("2027-05-03,holiday,劳动节\n2027-05-04,holiday,劳动节\n2027-05-05,holiday,劳动节\n",
                            "2027-05-10,holiday,x\n2027-05-11,holiday,x\n2027-05-12,holiday,x\n"),
      "2027 has no holiday on Labour Day (5/1–5/5)"),
     ("date,type,name\n" + "".join(f"2024-0{m}-1{d},holiday,x\n" for m in (1, 2) for d in range(5)),
      "2024 lists 6 closed weekdays; a whole official year has at least 11")],  # four of the ten are weekends
    ids=["one-day", "no-labour-day", "short-2024"],
)
def test_a_file_that_cannot_be_a_whole_year_is_refused_unless_forced(db, tmp_path, content, reason):
    """A loaded year replaces the library's: a partial file would make every holiday it
    leaves out a working day, and pay merchants on it (issue 13, item 11)."""
    f = tmp_path / "partial.csv"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=re.escape(reason)) as exc:
        call_command("calendar", "load", str(f))
    assert "--force" in str(exc.value) and "请核对文件" in str(exc.value)
    assert not AuditEvent.objects.filter(action="calendar.load").exists()
    call_command("calendar", "load", str(f), "--force")  # the operator knows better: loaded, and audited as forced
    forced = AuditEvent.objects.get(action="calendar.load")
    assert forced.after["forced_past"] and reason.split(";")[0] in forced.after["forced_past"][0]


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
