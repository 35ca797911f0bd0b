"""Onboarding and the terminal lifecycle through the staff API."""

from __future__ import annotations

import json

from daozhang.audit.models import AuditEvent
from daozhang.ledger.accounts import merchant_payable
from daozhang.ledger.models import Account
from daozhang.merchants.models import Merchant, MerchantUser
from tests.conftest import valid_uscc


def _post(client, path, body, key):
    return client.post(path, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


ONBOARD = {
    "legal_name": "上海测试餐饮有限公司", "short_name": "测试餐厅", "uscc": valid_uscc(9001), "mcc": "5812",
    "region_code": "2900", "contact_name": "王五", "contact_phone": "138 1234 5678",
    "bank_account": {"holder_name": "上海测试餐饮有限公司", "account_number": "3100 1234 5678 9012",
                     "bank_name": "中国银行", "account_type": "corporate"},
}


def test_onboarding_creates_merchant_number_bank_account_ledger_account_and_audit(staff_client):
    r = _post(staff_client, "/api/v1/staff/merchants", ONBOARD, "onb-1")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["merchant_no"] == "898290058120001"  # acquirer 898, region 2900, MCC 5812, seq 0001
    assert body["settlement_cycle"] == "T1" and body["fee_plan"] == "standard"
    assert body["settlement_account"].endswith("上海测试餐饮有限公司") and "****" in body["settlement_account"]
    m = Merchant.objects.get(id=body["id"])
    assert m.contact_phone == "+8613812345678"
    assert Account.objects.filter(id=merchant_payable(m.id).id, balance=0).exists()
    ev = AuditEvent.objects.get(action="merchant.onboard", object_id=str(m.id))
    assert ev.actor == "staff:boss" and ev.after["mcc"] == "5812"
    second = _post(staff_client, "/api/v1/staff/merchants", {**ONBOARD, "uscc": valid_uscc(9002)}, "onb-2")
    assert second.json()["merchant_no"] == "898290058120002"
    dup = _post(staff_client, "/api/v1/staff/merchants", ONBOARD, "onb-3")
    assert dup.status_code == 400 and dup.json()["error"] == {
        "code": "duplicate", "field": "uscc", "message": "A record with this value already exists."}


def test_terminal_lifecycle_and_one_merchant_per_terminal(staff_client):
    m1 = _post(staff_client, "/api/v1/staff/merchants", ONBOARD, "m1").json()
    m2 = _post(staff_client, "/api/v1/staff/merchants", {**ONBOARD, "uscc": valid_uscc(9003)}, "m2").json()
    t = _post(staff_client, "/api/v1/staff/terminals",
              {"serial_number": "lkl-a8-0001", "terminal_id": "sh000001", "model": "A8"}, "t1").json()
    assert (t["serial_number"], t["terminal_id"], t["status"]) == ("LKL-A8-0001", "SH000001", "in_stock")
    dup = _post(staff_client, "/api/v1/staff/terminals", {"serial_number": "LKL-A8-0001", "terminal_id": "SH000002"},
                "t2")
    assert dup.json()["error"]["field"] == "serial_number"

    bound = _post(staff_client, f"/api/v1/staff/terminals/{t['id']}/bind",
                  {"merchant_id": m1["id"], "install_address": "上海市杨浦区"}, "b1")
    assert bound.json()["status"] == "bound" and bound.json()["merchant_no"] == m1["merchant_no"]
    again = _post(staff_client, f"/api/v1/staff/terminals/{t['id']}/bind", {"merchant_id": m2["id"]}, "b2")
    assert again.status_code == 409 and again.json()["error"]["code"] == "terminal_bound"

    def status(s, key):
        return _post(staff_client, f"/api/v1/staff/terminals/{t['id']}/status", {"status": s, "reason": "t"}, key)

    assert status("active", "s1").json()["status"] == "active"
    assert status("retired", "s2").status_code == 409  # an active device must be suspended or returned first
    assert status("suspended", "s3").json()["status"] == "suspended"
    back = status("in_stock", "s4").json()
    assert back["status"] == "in_stock" and back["merchant_no"] is None
    rebound = _post(staff_client, f"/api/v1/staff/terminals/{t['id']}/bind", {"merchant_id": m2["id"]}, "b3")
    assert rebound.json()["merchant_no"] == m2["merchant_no"]
    actions = list(AuditEvent.objects.filter(object_type="terminal").order_by("at").values_list("action", flat=True))
    assert actions == ["terminal.register", "terminal.bind", "terminal.active", "terminal.suspended",
                       "terminal.in_stock", "terminal.bind"]


def test_suspended_merchant_and_inactive_terminal_cannot_sell(make_merchant, staff_client):
    kit = make_merchant()
    from daozhang.terminals.services import set_terminal_status

    set_terminal_status(terminal_id=kit.terminal.id, status="suspended", actor="test")
    r = kit.sale(1000)
    assert r.status_code == 409 and r.json()["error"]["code"] == "terminal_not_active"
    set_terminal_status(terminal_id=kit.terminal.id, status="active", actor="test")
    s = _post(staff_client, f"/api/v1/staff/merchants/{kit.merchant.id}/status",
              {"status": "suspended", "reason": "risk review"}, "sus")
    assert s.json()["status"] == "suspended"
    r = kit.sale(1000)
    assert r.status_code == 409 and r.json()["error"]["code"] == "merchant_not_active"
    ev = AuditEvent.objects.get(action="merchant.status")
    assert ev.before == {"status": "active"} and ev.after["reason"] == "risk review"


def test_issued_api_key_works_once_shown_and_is_stored_hashed(staff_client):
    from daozhang.access.models import ApiKey

    m = _post(staff_client, "/api/v1/staff/merchants", ONBOARD, "m").json()
    r = _post(staff_client, f"/api/v1/staff/merchants/{m['id']}/api-keys", {"name": "收银台"}, "k")
    raw = r.json()["key"]
    assert raw.startswith("dzk_") and not ApiKey.objects.filter(key_hash=raw).exists()
    assert staff_client.get("/api/v1/merchant", HTTP_AUTHORIZATION=f"Bearer {raw}").json()["id"] == m["id"]


def test_api_key_replay_never_reveals_the_key_again(staff_client):
    from daozhang.access.models import ApiKey
    from daozhang.core.models import IdempotencyRecord

    m = _post(staff_client, "/api/v1/staff/merchants", ONBOARD, "m").json()
    first = _post(staff_client, f"/api/v1/staff/merchants/{m['id']}/api-keys", {"name": "pos"}, "same")
    again = _post(staff_client, f"/api/v1/staff/merchants/{m['id']}/api-keys", {"name": "pos"}, "same")
    assert first.json()["key"].startswith("dzk_")
    assert again.status_code == 201 and again.json()["key"] is None and again.json()["id"] == first.json()["id"]
    assert ApiKey.objects.count() == 1
    assert first.json()["key"] not in str(list(IdempotencyRecord.objects.values_list("body", flat=True)))


def test_merchant_portal_login_is_created_for_one_merchant(staff_client):
    from django.contrib.auth import get_user_model

    m = _post(staff_client, "/api/v1/staff/merchants", ONBOARD, "m").json()
    weak = _post(staff_client, f"/api/v1/staff/merchants/{m['id']}/users", {"username": "wang", "password": "123"},
                 "u0")
    assert weak.status_code == 400 and weak.json()["error"]["field"] == "password"
    r = _post(staff_client, f"/api/v1/staff/merchants/{m['id']}/users",
              {"username": "wang", "password": "a-long-pass-2026"}, "u1")
    assert r.status_code == 201 and r.json()["merchant_no"] == m["merchant_no"]
    from django.test import Client

    browser = Client()
    login = browser.post("/login/", {"username": "wang", "password": "a-long-pass-2026"})
    assert login.status_code == 302 and login["Location"] == "/portal/"
    assert m["merchant_no"] in browser.get("/portal/").content.decode()
    user = get_user_model().objects.get(username="wang")
    assert not user.is_staff and MerchantUser.objects.get(user=user).merchant_id.hex == m["id"].replace("-", "")
