"""What the portal views share: the page language and turning domain errors into
messages beside the field."""

from __future__ import annotations

from django.http import HttpRequest

from daozhang.core.errors import DomainError


def lang(request: HttpRequest) -> str:
    return str(getattr(request, "LANGUAGE_CODE", "zh-hans"))


def field_errors(request: HttpRequest, err: DomainError) -> dict[str, str]:
    """{field: message} for the template; an error without a field goes under "form"."""
    return {err.field or "form": err.message(lang(request))}
