"""The merchant portal through its pages: login and its throttle, the dashboard, payments,
traces, settlements and statements, the enquiry, account management — and that a
merchant can never reach another merchant's records by changing an id in the URL."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from daozhang.access.models import ApiKey
from daozhang.audit.models import AuditEvent
from daozhang.merchants.models import SettlementAccount
from daozhang.merchants.services import BankAccountInput
from daozhang.payments.models import Payment
from daozhang.settlement.models import SettlementBatch
from daozhang.support.models import SupportCase
from tests.conftest import card
from tests.portal_helpers import PASSWORD, logged_in, portal_user
from tests.settlement_helpers import Clock

D = dt.date


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def shop(make_merchant):
    kit = make_merchant()
    portal_user(kit.merchant.id, "owner1")
    return kit


def _settled_shop(kit, clock):
    """Two sales on 11-02 settled and paid on 11-03; one sale on 11-03 not settled yet."""
    clock.at(2026, 11, 2, 10, 0)
    kit.sale(12345, pan=card("62220212345678"))
    kit.sale(100000, channel="wechat", entry_mode="qr", pan=None)
    clock.settle(2026, 11, 2)
    clock.pay(2026, 11, 3)
    return kit.sale(4321, pan=card("62220212345679")).json()  # ends in 6797


def test_login_lands_a_merchant_on_the_portal_and_a_wrong_password_says_so(shop):
    c = Client()
    r = c.post("/login/", {"username": "owner1", "password": "nope"})
    assert r.status_code == 200 and "用户名或密码不正确" in r.content.decode()
    r = c.post("/login/", {"username": "owner1", "password": PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/portal/"
    assert "今日交易" in c.get("/portal/").content.decode()


def test_five_wrong_passwords_make_the_next_try_wait_even_with_the_right_one(shop):
    # (a delay, not a lock-out, and not for the user's own known browser: tests/access)
    c = Client()
    for _ in range(5):
        c.post("/login/", {"username": "owner1", "password": "wrong"})
    r = c.post("/login/", {"username": "owner1", "password": PASSWORD})
    assert r.status_code == 429
    assert "秒后再试" in r.content.decode()
    assert Client().get("/portal/").status_code == 302  # and nobody got a session


def test_an_idle_session_ends_and_asks_for_the_login_again(shop):
    c = logged_in("owner1")
    assert c.get("/portal/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))  # 30 idle minutes later
    r = c.get("/portal/payments/")
    assert r.status_code == 302 and r["Location"].startswith("/login/?next=/portal/payments/")


def test_pages_are_chinese_by_default_and_english_after_the_switch(shop):
    c = logged_in("owner1", HTTP_ACCEPT_LANGUAGE="en-US")
    assert "交易查询" in c.get("/portal/payments/").content.decode()
    c.post("/i18n/setlang/", {"language": "en", "next": "/portal/payments/"})
    body = c.get("/portal/payments/").content.decode()
    assert "Payments" in body and "交易查询" not in body


def test_dashboard_shows_todays_sales_unsettled_and_the_next_arrival(shop, clock):
    _settled_shop(shop, clock)
    body = logged_in("owner1").get("/portal/").content.decode()
    today = re.search(r'id="today-amount">([^<]+)<', body).group(1)
    assert today == "¥43.21"
    assert re.search(r'id="unsettled">([^<]+)<', body).group(1) == "¥42.99"  # fee 0.5% of 43.21 = 0.21605 → 0.22
    assert "<svg" in body and "11-02 ¥1,123.45 (2)" in body  # the chart's bar for 11-02, fen exact


def test_find_a_payment_by_last_four_digits_open_it_and_read_why(shop, clock):
    pending = _settled_shop(shop, clock)
    c = logged_in("owner1")
    r = c.get("/portal/payments/", {"last4": pending["masked_pan"][-4:]})
    body = r.content.decode()
    assert r.status_code == 200 and "¥43.21" in body and "¥123.45" not in body
    detail = c.get(f"/portal/payments/{pending['id']}/").content.decode()
    assert 'data-cause="not_due"' in detail and "2026-11-04" in detail  # T+1 from Tuesday 11-03


def test_bad_filters_name_the_field_and_show_no_rows(shop, clock):
    _settled_shop(shop, clock)
    c = logged_in("owner1")
    for params, field in (({"amount_min": "1.234"}, "amount_min"), ({"last4": "12a4"}, "last4"),
                          ({"date_from": "2026-13-01"}, "date_from"), ({"amount_min": "9", "amount_max": "1"},
                                                                       "amount_min")):
        r = c.get("/portal/payments/", params)
        assert r.status_code == 400, params
        assert f'id="err-{field}"' in r.content.decode()


def test_keyset_pages_walk_every_payment_once(shop, clock):
    clock.at(2026, 11, 2, 10, 0)
    for i in range(53):
        shop.sale(1000 + i)
    c = logged_in("owner1")
    seen: list[str] = []
    url = "/portal/payments/"
    while url:
        body = c.get(url).content.decode()
        seen += re.findall(r'href="/portal/payments/([0-9a-f-]{36})/"', body)
        nxt = re.search(r'href="(/portal/payments/\?[^"]*cursor=[^"]+)" rel="next"', body)
        url = nxt.group(1).replace("&amp;", "&") if nxt else ""
    assert len(seen) == 53 == len(set(seen))


def test_previous_page_walks_back_to_the_same_pages(shop, clock):
    """Three pages forward, then "previous" twice: the same payments, page by page, and no
    previous link on the first page."""
    clock.at(2026, 11, 2, 10, 0)
    for i in range(120):
        shop.sale(1000 + i)
    c = logged_in("owner1")

    def visit(url: str) -> tuple[list[str], str | None, str | None]:
        body = c.get(url).content.decode()
        ids = re.findall(r'href="/portal/payments/([0-9a-f-]{36})/"', body)
        links = {rel: m.replace("&amp;", "&") for m, rel in
                 re.findall(r'href="(/portal/payments/\?[^"]*)" rel="(next|prev)"', body)}
        return ids, links.get("next"), links.get("prev")

    first, nxt, prev = visit("/portal/payments/")
    assert prev is None and nxt
    second, nxt, prev = visit(nxt)
    third, nxt_none, prev3 = visit(nxt)
    assert len(first) == len(second) == 50 and len(third) == 20 and nxt_none is None
    back_to_second, _, prev2 = visit(prev3)
    assert back_to_second == second and prev2
    back_to_first, _, prev1 = visit(prev2)
    assert back_to_first == first and prev1 is None


def test_csv_export_follows_the_filter(shop, clock):
    _settled_shop(shop, clock)
    r = logged_in("owner1").get("/portal/payments/export.csv", {"channel": "wechat"})
    text = b"".join(r.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(lines) == 2 and "1000.00" in lines[1]


def test_settlements_show_the_batch_its_payout_and_both_statement_files(shop, clock):
    _settled_shop(shop, clock)
    c = logged_in("owner1")
    batch = SettlementBatch.objects.get(merchant=shop.merchant)
    assert "2026-11-02" in c.get("/portal/settlements/").content.decode()
    detail = c.get(f"/portal/settlements/{batch.id}/").content.decode()
    assert 'data-cause="arrived"' in detail and "BK" in detail
    csv_r = c.get(f"/portal/settlements/{batch.id}/statement.csv")
    assert csv_r["Content-Disposition"].endswith('-2026-11-02.csv"') and "123.45" in csv_r.content.decode()
    pdf_r = c.get(f"/portal/settlements/{batch.id}/statement.pdf")
    assert pdf_r.content.startswith(b"%PDF")
    assert c.get(f"/portal/settlements/{batch.id}/statement.exe").status_code == 404


def test_another_merchants_ids_are_not_found_on_every_page(make_merchant, shop, clock):
    other = make_merchant()
    _settled_shop(other, clock)
    theirs = Payment.objects.filter(merchant=other.merchant).first()
    batch = SettlementBatch.objects.get(merchant=other.merchant)
    key = ApiKey.objects.get(merchant=other.merchant)
    c = logged_in("owner1")
    for url in (f"/portal/payments/{theirs.id}/", f"/portal/settlements/{batch.id}/",
                f"/portal/settlements/{batch.id}/statement.csv", f"/portal/settlements/{batch.id}/statement.pdf"):
        r = c.get(url)
        assert r.status_code == 404, url
        assert other.merchant.short_name not in r.content.decode()
    assert c.post(f"/portal/me/api-keys/{key.id}/revoke/").status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
    listing = c.get("/portal/payments/").content.decode()
    assert str(theirs.id) not in listing


def test_staff_and_anonymous_cannot_open_the_portal(shop, django_user_model):
    staff = django_user_model.objects.create_user("ops", password="x", is_staff=True)
    c = Client()
    assert c.get("/portal/").status_code == 302
    c.force_login(staff)
    assert c.get("/portal/payments/").status_code == 403


def test_csrf_is_enforced_on_portal_forms(shop):
    c = Client(enforce_csrf_checks=True)
    c.force_login(shop.merchant.users.get().user)
    r = c.post("/portal/me/api-keys/", {"name": "till", "form_token": "a" * 32})
    assert r.status_code == 403
    assert not ApiKey.objects.filter(name="till").exists()


def test_enquiry_opens_one_case_however_often_it_is_posted(shop, clock):
    _settled_shop(shop, clock)
    c = logged_in("owner1")
    form = c.get("/portal/enquiry/").content.decode()
    token = re.search(r'name="form_token" value="([0-9a-f]{32})"', form).group(1)
    data = {"expected_amount": "999.99", "expected_date": "2026-10-12", "form_token": token}  # nothing explains it
    first = c.post("/portal/enquiry/", data)
    again = c.post("/portal/enquiry/", data)
    assert first.status_code == again.status_code == 302 and first["Location"] == again["Location"]
    assert SupportCase.objects.filter(merchant=shop.merchant).count() == 1
    answer = c.get(first["Location"]).content.decode()
    assert SupportCase.objects.get().case_no in answer
    bad = c.post("/portal/enquiry/", {"expected_amount": "-5", "expected_date": "2026-11-03",
                                      "form_token": "b" * 32})
    assert bad.status_code == 400 and 'id="err-amount"' in bad.content.decode()


def test_account_change_is_checked_pending_then_verified(shop, clock):
    c = logged_in("owner1")
    page = c.get("/portal/me/settlement-account/").content.decode()
    token = re.search(r'name="form_token" value="([0-9a-f]{32})"', page).group(1)
    legal = shop.merchant.legal_name
    bad = c.post("/portal/me/settlement-account/change/", {
        "holder_name": legal, "account_number": "12", "bank_name": "工商银行", "account_type": "corporate",
        "form_token": token})
    assert bad.status_code == 400 and 'id="err-number"' in bad.content.decode()
    not_ours = c.post("/portal/me/settlement-account/change/", {  # a company is paid in its own name only
        "holder_name": "测试商户", "account_number": "6222000011113333", "bank_name": "工商银行",
        "account_type": "corporate", "form_token": token})
    assert not_ours.status_code == 400 and 'id="err-holder"' in not_ours.content.decode()
    assert legal in not_ours.content.decode()
    assert SettlementAccount.objects.filter(merchant=shop.merchant).count() == 1  # nothing written
    ok = c.post("/portal/me/settlement-account/change/", {
        "holder_name": legal, "account_number": "6222000011113333", "bank_name": "工商银行",
        "account_type": "corporate", "form_token": token})
    assert ok.status_code == 302
    page = c.get("/portal/me/settlement-account/").content.decode()
    assert 'id="pending-account"' in page and 'id="code-form"' in page
    assert AuditEvent.objects.filter(action="settlement_account.change_requested",
                                     actor="merchant-user:owner1").exists()


def test_a_cashier_sees_payments_but_cannot_change_money_routing_or_keys(shop):
    portal_user(shop.merchant.id, "cashier1", role="cashier")
    c = logged_in("cashier1")
    assert c.get("/portal/payments/").status_code == 200
    assert c.get("/portal/me/api-keys/").status_code == 403
    r = c.post("/portal/me/settlement-account/change/", {
        "holder_name": "x", "account_number": "6222000011113333", "bank_name": "y", "account_type": "corporate",
        "form_token": "c" * 32})
    assert r.status_code == 403


def test_an_api_key_is_shown_once_and_works_until_revoked(shop):
    c = logged_in("owner1")
    page = c.get("/portal/me/api-keys/").content.decode()
    token = re.search(r'name="form_token" value="([0-9a-f]{32})"', page).group(1)
    r = c.post("/portal/me/api-keys/", {"name": "till", "form_token": token})
    raw = re.search(r'id="new-key-value">(dzk_[^<]+)<', r.content.decode()).group(1)
    assert r["Cache-Control"] == "no-store"
    replay = c.post("/portal/me/api-keys/", {"name": "till", "form_token": token}).content.decode()
    assert raw not in replay and ApiKey.objects.filter(name="till").count() == 1
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/payments").status_code == 200
    key = ApiKey.objects.get(name="till")
    c.post(f"/portal/me/api-keys/{key.id}/revoke/")
    assert api.get("/api/v1/payments").status_code == 401


def test_me_menu_has_account_management(shop):
    body = logged_in("owner1").get("/portal/me/").content.decode()
    assert "账户管理" in body
    for key in ("profile", "settlement_account", "api_keys", "password"):
        assert f'id="menu-{key}"' in body


def test_money_is_shown_with_yuan_sign_and_thousands(shop, clock):
    clock.at(2026, 11, 2, 10, 0)
    shop.sale(123456789)
    body = logged_in("owner1").get("/portal/payments/").content.decode()
    assert "¥1,234,567.89" in body


def test_returned_payout_explains_and_links_to_the_account_change(make_merchant, clock):
    kit = make_merchant(bank_account=BankAccountInput(holder_name="测试", account_number="6222000011110002",
                                                      bank_name="工商银行", account_type="corporate"))
    portal_user(kit.merchant.id, "owner2")
    clock.at(2026, 11, 2, 10, 0)
    kit.sale(30000)
    clock.settle(2026, 11, 2)
    clock.pay(2026, 11, 3)
    c = logged_in("owner2")
    batch = SettlementBatch.objects.get(merchant=kit.merchant)
    assert "出款被银行退回" in c.get("/portal/").content.decode()
    detail = c.get(f"/portal/settlements/{batch.id}/").content.decode()
    assert 'data-cause="payout_returned"' in detail and "/portal/me/settlement-account/" in detail
