"""What every console page shares: the action-page pattern and flash messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from daozhang.console.forms import Form
from daozhang.core.errors import DomainError
from daozhang.web.once import new_token, run_once
from daozhang.web.parse import say

Done = tuple[str, str, str]  # (中文 message, English message, where to go next)


def handle(request: HttpRequest, form: Form, run: Callable[[], Done], template: str,
           context: dict[str, Any]) -> HttpResponse:
    """GET shows the form; POST runs the service once, then redirects with a flash message.

    The form carries a one-time token (web.once): a double click or a browser retry of an
    adjustment or a freeze replays the first result instead of moving money again.

    A `DomainError` renders the same page again with the message beside its field and a
    400 status; the service raised before committing, so nothing was written. A 404 from
    the service (the object vanished) is a 404 page, not a form error.
    """
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("form_token"):
                done, _ = run_once(request, lambda: dict(zip(("zh", "en", "url"), run(), strict=True)))
                zh, en, url = done["zh"], done["en"], done["url"]
            else:  # a scripted post without the page's token: once is the caller's business
                zh, en, url = run()
        except DomainError as exc:
            if exc.status == 404:
                raise Http404(exc.code) from exc
            form.add_error(request, exc)
            status = 400
        else:
            messages.success(request, say(request, zh, en))
            return HttpResponseRedirect(url)
    token = request.POST.get("form_token") or new_token()  # a re-shown form keeps its token
    return render(request, template, {**context, "form": form, "form_token": token}, status=status)
