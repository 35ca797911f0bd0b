"""Issue 11, item 9: "one finance user can post an adjustment of any size alone".

Above `ADJUSTMENT_APPROVAL_FEN` an adjustment is a request to a second staff member
(approvals) and books nothing until approved; the maker can never be the checker; an
approval executes exactly once, whether clicked twice or by two checkers at the same
moment (threads on their own connections, on both databases).
"""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from daozhang.access.services import issue_staff_token
from daozhang.approvals import services as approvals
from daozhang.approvals.models import ApprovalRequest, ApprovalStatus
from daozhang.audit.models import AuditEvent
from daozhang.core.errors import DomainError
from daozhang.ledger.models import Entry
from daozhang.ledger.selectors import check_ledger, merchant_payable_balance
from daozhang.settlement.adjustments import adjust
from daozhang.settlement.models import Adjustment
from tests.threads import at_once

PW = "finance-pw-2026-long-enough"


def finance(name: str):
    user = get_user_model().objects.create_user(name, password=PW, is_staff=True)
    user.groups.add(Group.objects.get(name="财务"))
    return get_user_model().objects.get(pk=user.pk)


def api(user) -> Client:
    _, raw = issue_staff_token(user=user, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")


def post(client: Client, path: str, body: dict, key: str):
    return client.post(path, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_large_adjustment_books_nothing_until_a_second_person_approves(merchant_kit, settings):
    assert settings.ADJUSTMENT_APPROVAL_FEN == 500_000  # ¥5,000 by default
    m = merchant_kit.merchant
    maker, checker = finance("fin-maker"), finance("fin-checker")
    entries = Entry.objects.count()

    r = post(api(maker), f"/api/v1/staff/merchants/{m.id}/adjustments", {"amount": 600_000, "reason": "补差"}, "a1")
    assert r.status_code == 202, r.content
    body = r.json()
    assert body["status"] == "pending_approval" and "second staff member" in body["message"]
    req = ApprovalRequest.objects.get(id=body["approval_id"])
    assert req.status == ApprovalStatus.PENDING and "¥6,000.00" in req.summary_en and req.maker == "staff:fin-maker"
    # Nothing booked: no adjustment, no ledger entry, the merchant's balance unchanged.
    assert Adjustment.objects.count() == 0 and Entry.objects.count() == entries
    assert merchant_payable_balance(m.id) == 0

    with pytest.raises(DomainError) as e:
        approvals.approve(request_id=req.id, user=maker, actor="staff:fin-maker")
    assert (e.value.code, e.value.status) == ("maker_cannot_approve", 403)
    assert Adjustment.objects.count() == 0

    approvals.approve(request_id=req.id, user=checker, actor="staff:fin-checker", reason="matches the ticket")
    adj = Adjustment.objects.get()
    assert (adj.amount, adj.created_by, adj.approved_by) == (600_000, "staff:fin-maker", "staff:fin-checker")
    assert merchant_kit.get("/api/v1/balance").json()["unsettled"] == 600_000

    with pytest.raises(DomainError) as e:  # approving twice does it once
        approvals.approve(request_id=req.id, user=checker, actor="staff:fin-checker")
    assert (e.value.code, e.value.status) == ("approval_decided", 409)
    assert Adjustment.objects.count() == 1 and Entry.objects.count() == entries + 1
    actions = list(AuditEvent.objects.filter(object_id=str(req.id)).values_list("action", flat=True))
    assert actions == ["approval.requested", "approval.approved"]
    assert check_ledger().ok


def test_at_the_limit_one_person_is_enough_and_the_limit_is_configurable(merchant_kit, settings):
    maker = finance("fin-alone")
    r = post(api(maker), f"/api/v1/staff/merchants/{merchant_kit.merchant.id}/adjustments",
             {"amount": -500_000, "reason": "rental"}, "b1")
    assert r.status_code == 201 and r.json()["status"] == "booked"
    settings.ADJUSTMENT_APPROVAL_FEN = 100
    out = adjust(merchant_id=merchant_kit.merchant.id, amount=101, reason="x", actor="staff:fin-alone")
    assert isinstance(out, ApprovalRequest)


def test_a_rejected_or_expired_adjustment_is_never_booked(merchant_kit, settings):
    from daozhang.core import clock

    maker, checker = finance("fin-m2"), finance("fin-c2")
    m = merchant_kit.merchant
    one = adjust(merchant_id=m.id, amount=900_000, reason="a", actor="staff:fin-m2", actor_user_id=maker.pk)
    two = adjust(merchant_id=m.id, amount=-900_000, reason="b", actor="staff:fin-m2", actor_user_id=maker.pk)
    approvals.reject(request_id=one.id, user=checker, actor="staff:fin-c2", reason="no ticket")
    later = clock.now().replace(year=clock.now().year + 1)
    assert approvals.expire_due(now=later) == 1
    two.refresh_from_db()
    assert two.status == ApprovalStatus.EXPIRED
    for req in (one, two):
        with pytest.raises(DomainError):
            approvals.approve(request_id=req.id, user=checker, actor="staff:fin-c2")
    assert Adjustment.objects.count() == 0 and merchant_payable_balance(m.id) == 0


@pytest.mark.django_db(transaction=True)
def test_two_checkers_at_once_execute_it_once(merchant_kit):
    m = merchant_kit.merchant
    maker = finance("fin-m3")
    checkers = [finance("fin-c3"), finance("fin-c4")]
    entries = Entry.objects.count()
    req = adjust(merchant_id=m.id, amount=750_000, reason="补差", actor="staff:fin-m3", actor_user_id=maker.pk)
    who = iter(checkers)
    import threading

    lock = threading.Lock()

    def decide() -> str:
        with lock:
            user = next(who)
        try:
            approvals.approve(request_id=req.id, user=user, actor=f"staff:{user.get_username()}")
            return "approved"
        except DomainError as exc:
            return exc.code

    results = sorted(at_once(decide, n=2))
    assert results == ["approval_decided", "approved"]
    assert Adjustment.objects.filter(merchant=m).count() == 1 and Entry.objects.count() == entries + 1
    assert AuditEvent.objects.filter(object_id=str(req.id), action="approval.approved").count() == 1
    # The same checker clicking twice at once: also once.
    again = adjust(merchant_id=m.id, amount=-650_000, reason="fix", actor="staff:fin-m3", actor_user_id=maker.pk)
    twice = sorted(at_once(lambda: _approve_code(again.id, checkers[0]), n=2))
    assert twice == ["approval_decided", "approved"]
    assert Adjustment.objects.filter(merchant=m).count() == 2
    assert check_ledger().ok


def _approve_code(request_id, user) -> str:
    try:
        approvals.approve(request_id=request_id, user=user, actor=f"staff:{user.get_username()}")
        return "approved"
    except DomainError as exc:
        return exc.code


# ------------------------------------------------------------------ the console


def _console(username: str) -> Client:
    c = Client()
    assert c.post("/login/", {"username": username, "password": PW}).status_code == 302
    return c


def test_the_console_lists_what_waits_and_only_another_person_can_decide(merchant_kit):
    m = merchant_kit.merchant
    finance("fin-m5")
    finance("fin-c5")
    maker = _console("fin-m5")
    page = maker.get(f"/console/merchants/{m.id}/adjustments/new/").content.decode()
    token = re.search(r'name="form_token" value="([0-9a-f]{32})"', page).group(1)
    r = maker.post(f"/console/merchants/{m.id}/adjustments/new/",
                   {"amount": "8,000", "reason": "补差 compensation", "form_token": token})
    assert r.status_code == 302 and "/console/approvals/" in r["Location"]
    req = ApprovalRequest.objects.get()
    assert Adjustment.objects.count() == 0

    listing = maker.get("/console/approvals/").content.decode()
    assert f'id="approval-{req.id}"' in listing and "¥8,000.00" in listing
    own = maker.get(f"/console/approvals/{req.id}/").content.decode()
    assert 'id="approve-submit"' not in own and 'id="action-blocked"' in own
    forged = maker.post(f"/console/approvals/{req.id}/", {"decision": "approve", "reason": "",
                                                         "form_token": "d" * 32})
    assert forged.status_code == 400 and Adjustment.objects.count() == 0  # refused by the service

    checker = _console("fin-c5")
    form = checker.get(f"/console/approvals/{req.id}/").content.decode()
    assert 'id="approve-submit"' in form and 'id="reject-submit"' in form
    done = checker.post(f"/console/approvals/{req.id}/", {"decision": "approve", "reason": "ok",
                                                         "form_token": "e" * 32})
    assert done.status_code == 302
    assert Adjustment.objects.get().approved_by == "staff:fin-c5"
    assert 'id="action-blocked"' in checker.get(f"/console/approvals/{req.id}/").content.decode()
    # Customer service has no Approvals page at all.
    cs = get_user_model().objects.create_user("cs-5", password=PW, is_staff=True)
    cs.groups.add(Group.objects.get(name="客服"))
    assert _console("cs-5").get("/console/approvals/").status_code == 403
