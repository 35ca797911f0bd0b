"""Command-line values read by the same rules as the API's inputs (`core.inputs`): a bad
value is answered with what was expected, in English and Chinese, never a Python message
("invalid fromisoformat value")."""

from __future__ import annotations

import argparse
import datetime as dt

from pydantic_core import PydanticCustomError

from daozhang.core.errors import DomainError
from daozhang.core.inputs import FIRST_DATE, LAST_DATE, parse_business_date


def business_date(text: str) -> dt.date:
    """A YYYY-MM-DD date within the business range (argparse `type=`)."""
    try:
        return parse_business_date(text)
    except PydanticCustomError as exc:
        if exc.type == "bad_date":
            raise argparse.ArgumentTypeError(f"{text!r} is not a date, expected YYYY-MM-DD (e.g. 2026-10-08)"
                                             " / 不是有效日期，格式为 YYYY-MM-DD") from None
        err = DomainError(exc.type, None, dict(exc.context or {}))  # out of the business range
        raise argparse.ArgumentTypeError(f"{text!r}: {err.message('en')} / {err.message('zh')}") from None


def year(text: str) -> int:
    """A calendar year within the business date range."""
    if not (text.isdigit() and FIRST_DATE.year <= int(text) <= LAST_DATE.year):
        raise argparse.ArgumentTypeError(f"{text!r} is not a year from {FIRST_DATE.year} to {LAST_DATE.year}"
                                         f" / 不是 {FIRST_DATE.year}–{LAST_DATE.year} 之间的年份")
    return int(text)
