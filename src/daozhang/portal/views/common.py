"""Turning domain errors into messages beside the field, in the page's language."""

from __future__ import annotations

from django.http import HttpRequest

from daozhang.core.errors import DomainError
from daozhang.web.parse import page_language


def field_errors(request: HttpRequest, err: DomainError) -> dict[str, str]:
    """{field: message} for the template; an error without a field goes under "form"."""
    return {err.field or "form": err.message(page_language(request))}
