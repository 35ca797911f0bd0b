"""Command-line values read in words: a bad value is answered with what was expected, in
English and Chinese, never a Python message ("invalid fromisoformat value")."""

from __future__ import annotations

import argparse
import datetime as dt


def business_date(text: str) -> dt.date:
    """A YYYY-MM-DD date (argparse `type=`)."""
    try:
        if len(text) != 10:
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date, expected YYYY-MM-DD (e.g. 2026-10-08)"
                                         " / 不是有效日期，格式为 YYYY-MM-DD") from None


def year(text: str) -> int:
    """A calendar year, 2000–2099 (the business date range)."""
    if not (text.isdigit() and 2000 <= int(text) <= 2099):
        raise argparse.ArgumentTypeError(f"{text!r} is not a year from 2000 to 2099 / 不是 2000–2099 之间的年份")
    return int(text)
