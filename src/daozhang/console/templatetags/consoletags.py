"""Small filters for showing stored JSON (audit before/after, case diagnoses) to people."""

from __future__ import annotations

import json
from typing import Any

from django import template

from daozhang.web.parse import split_label
from daozhang.web.templatetags.web import is_zh

register = template.Library()


@register.filter
def as_json(value: Any) -> str:
    """Readable JSON with Chinese left as is (escaped by the template, never marked safe)."""
    if value is None or value == {}:
        return "—"
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str)


@register.filter
def as_table(value: Any) -> dict[str, Any] | None:
    """A list of flat objects as headers and rows, or None when it is not one."""
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        return None
    headers = list(dict.fromkeys(k for row in value for k in row))
    return {"headers": headers, "rows": [[row.get(h, "") for h in headers] for row in value]}


@register.simple_tag(takes_context=True)
def bi(context: template.Context, value: Any) -> str:
    """One language of a (中文, English) pair or of a choice label "English 中文"."""
    zh, en = value if isinstance(value, (tuple, list)) and len(value) == 2 else split_label(str(value))
    return str(zh if is_zh(context) else en)


@register.filter
def is_plain(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)
