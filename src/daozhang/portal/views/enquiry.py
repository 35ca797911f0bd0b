""""My money has not arrived": the merchant says what they expected and when; the answer
explains it from the batches and payments, or opens a support case with the diagnosis.

The post runs once per form token (a case is never opened twice by a double click); the
answer is kept with the token and shown on a page of its own (post-redirect-get).
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from daozhang.core.errors import DomainError
from daozhang.tracing.enquiry import enquire
from daozhang.web.access import merchant_actor, merchant_of, merchant_required
from daozhang.web.once import answer_of, new_token, run_once
from daozhang.web.parse import field_errors, optional_date, page_language, parse_yuan


@merchant_required
def enquiry(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    if request.method == "POST":
        merchant = merchant_of(request)
        try:
            amount = parse_yuan(request.POST.get("expected_amount"), "expected_amount")
            day = optional_date(request.POST.get("expected_date"), "expected_date")
            if day is None:
                raise DomainError("required", "expected_date")

            def ask() -> dict[str, object]:
                ans = enquire(merchant=merchant, expected_amount=amount, expected_date=day,
                              actor=merchant_actor(request))
                return {"matched": ans.matched, "explanation": list(ans.explanation),
                        "case_no": ans.case.case_no if ans.case else None,
                        "traces": {lg: [t.render(lg) for t in ans.traces] for lg in ("zh-hans", "en")},
                        "expected_amount": amount, "expected_date": day.isoformat()}

            run_once(request, ask)
            return HttpResponseRedirect(reverse("portal:enquiry_answer", args=[request.POST["form_token"]]))
        except DomainError as err:
            errors = field_errors(request, err)
    return render(request, "portal/enquiry.html", {
        "errors": errors, "form_token": new_token(), "q": request.POST, "section": "enquiry",
    }, status=400 if errors else 200)


@merchant_required
def enquiry_answer(request: HttpRequest, token: str) -> HttpResponse:
    body = answer_of(request, token, reverse("portal:enquiry"))
    if body is None or "matched" not in body:
        raise Http404
    zh = page_language(request).startswith("zh")
    return render(request, "portal/enquiry_answer.html", {
        "answer": body, "explanation": body["explanation"][1 if zh else 0],
        "traces": body["traces"]["zh-hans" if zh else "en"], "section": "enquiry",
    })
