"""What every console page shares: the action-page pattern and flash messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from daozhang.console.forms import Form
from daozhang.core.errors import DomainError
from daozhang.web.parse import say

Done = tuple[str, str, str]  # (中文 message, English message, where to go next)


def handle(request: HttpRequest, form: Form, run: Callable[[], Done], template: str,
           context: dict[str, Any]) -> HttpResponse:
    """GET shows the form; POST runs the service once, then redirects with a flash message.

    A `DomainError` renders the same page again with the message beside its field and a
    400 status; the service raised before committing, so nothing was written. A 404 from
    the service (the object vanished) is a 404 page, not a form error.
    """
    status = 200
    if request.method == "POST":
        try:
            zh, en, url = run()
        except DomainError as exc:
            if exc.status == 404:
                raise Http404(exc.code) from exc
            form.add_error(request, exc)
            status = 400
        else:
            messages.success(request, say(request, zh, en))
            return HttpResponseRedirect(url)
    return render(request, template, {**context, "form": form}, status=status)
