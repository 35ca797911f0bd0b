"""The `daozhang` command as an operator meets it: the product's commands listed with a
line each, every option explained, bad values answered in words."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.management import get_commands, load_command_class


def daozhang(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "daozhang.cli", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_help_lists_the_products_commands_with_a_line_each_not_djangos():
    out = daozhang("--help").stdout
    ours = sorted(n for n, app in get_commands().items() if app.startswith("daozhang."))
    assert ours and all(f"  {name}" in out for name in ours)
    assert "settle" in out and "Settle a business date" in out
    assert "makemigrations" not in out and "help --all" in out
    assert "makemigrations" in daozhang("help", "--all").stdout  # Django's stay reachable


@pytest.mark.parametrize("name", sorted(n for n, app in get_commands().items() if app.startswith("daozhang.")))
def test_every_option_of_every_command_is_explained(name):
    parser = load_command_class(get_commands()[name], name).create_parser("daozhang", name)
    actions = [a for a in parser._actions if a.dest not in {"help", "version", "verbosity", "settings", "pythonpath",
                                                            "traceback", "no_color", "force_color", "skip_checks"}]
    for sub in (a for a in actions if hasattr(a, "choices") and isinstance(a.choices, dict)):
        actions += [x for p in sub.choices.values() for x in p._actions if x.dest != "help"]
    missing = [a.dest for a in actions if not a.help and not hasattr(a, "_name_parser_map")]
    assert not missing, f"{name}: options without help: {missing}"


@pytest.mark.parametrize(("args", "said"), [
    (["settle", "--date", "2026-13-01"], "'2026-13-01' is not a date, expected YYYY-MM-DD"),
    (["payouts", "run", "--date", "tomorrow"], "'tomorrow' is not a date, expected YYYY-MM-DD"),
    (["calendar", "show", "20266"], "'20266' is not a year from 2000 to 2099"),
])
def test_a_bad_value_is_answered_in_words(args, said):
    done = daozhang(*args)
    assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr
    assert "不是" in done.stderr


def test_a_date_outside_the_business_range_is_refused_as_the_api_refuses_it():
    done = daozhang("settle", "--date", "1999-12-31")
    assert done.returncode == 2 and "The date must be between 2000-01-01 and 2099-12-31" in done.stderr
    assert "日期须在 2000-01-01 至 2099-12-31 之间" in done.stderr
