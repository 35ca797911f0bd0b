"""Template tags shared by the portal and the console.

Pages carry both languages side by side (`{% t "中文" "English" %}`) instead of gettext
catalogues: the same choice as the API's error catalogue (docs/decisions/0008), so a
string can never be missing its translation and no compile step is needed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import template

from daozhang.core import clock
from daozhang.core.money import Money
from daozhang.web.parse import split_label

register = template.Library()


def is_zh(context: template.Context) -> bool:
    request = context.get("request")
    code = getattr(request, "LANGUAGE_CODE", "zh-hans") if request is not None else "zh-hans"
    return str(code).startswith("zh")


@register.simple_tag(takes_context=True)
def t(context: template.Context, zh: str, en: str) -> str:
    """The zh-CN or the English text, by the page's language."""
    return zh if is_zh(context) else en


@register.filter
def yuan(fen: Any) -> str:
    """Integer fen → ¥1,234.56 (exact: no float anywhere)."""
    if fen is None or fen == "":
        return "—"
    return Money(int(fen)).display()


@register.filter
def local(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A timestamp in business time (Asia/Shanghai), whatever the server's zone."""
    if value is None:
        return "—"
    return value.astimezone(clock.business_tz()).strftime(fmt)


@register.simple_tag(takes_context=True)
def query(context: template.Context, **changes: Any) -> str:
    """The current query string with some parameters changed (pagination keeps filters)."""
    request = context["request"]
    params = request.GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + urlencode(list(params.lists()), doseq=True)


@register.filter
def iso_local(value: str) -> str:
    """An ISO timestamp from a rendered trace → "YYYY-MM-DD HH:MM" in business time."""
    try:
        return local(dt.datetime.fromisoformat(value))
    except (TypeError, ValueError):
        return value


@register.simple_tag(takes_context=True)
def label(context: template.Context, text: Any) -> str:
    """One language of a bilingual choice label ("Paid 已到账" → "已到账" or "Paid")."""
    zh, en = split_label(text)
    return zh if is_zh(context) else en
