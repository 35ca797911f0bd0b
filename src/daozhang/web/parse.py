"""Form input as people type it, to the values the services take — one place for the
portal and the console, so a yuan amount or a date means the same on every page."""

from __future__ import annotations

import datetime as dt
import re

from django.http import HttpRequest

from daozhang.core.errors import DomainError
from daozhang.core.money import Money, MoneyError


def page_language(request: HttpRequest) -> str:
    """The language the page is shown in (set by web.middleware.PageLanguageMiddleware)."""
    return str(getattr(request, "LANGUAGE_CODE", "zh-hans"))


def say(request: HttpRequest, zh: str, en: str) -> str:
    """The message in the page's language (pages carry both, docs/decisions/0008)."""
    return zh if page_language(request).startswith("zh") else en


_CJK = re.compile(r"[\u3400-\u9fff]")


def split_label(label: object) -> tuple[str, str]:
    """A bilingual choice label "Paid 已到账" as (中文, English); the models keep both so the
    admin and exports read in either language. A label without both is both."""
    text = str(label)
    m = _CJK.search(text)
    if m is None or m.start() == 0:
        return text, text
    return text[m.start():].strip(), text[: m.start()].strip()


def parse_yuan(text: str | None, field: str, *, signed: bool = False, required: bool = True) -> int | None:
    """Yuan as people type them ("1,280.5", "¥19", "-19") to integer fen, exactly (no float).

    A sign is accepted only where a negative amount means something (an adjustment that
    deducts). An empty optional field is None.
    """
    raw = (text or "").strip().replace(",", "").replace("¥", "")
    if not raw:
        if required:
            raise DomainError("required", field)
        return None
    negative = signed and raw.startswith("-")
    try:
        fen = Money.from_yuan(raw[1:] if negative else raw).fen
    except MoneyError as exc:
        raise DomainError(exc.reason, field) from exc
    return -fen if negative else fen


def optional_date(text: str | None, field: str) -> dt.date | None:
    raw = (text or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise DomainError("invalid", field) from exc


def field_errors(request: HttpRequest, err: DomainError) -> dict[str, str]:
    """{field: message} for a page's template, in the page's language; an error without a
    field goes under "form"."""
    return {err.field or "form": err.message(page_language(request))}
