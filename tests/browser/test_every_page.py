"""Every page of the portal and the console, with data on it, at phone width and in both
languages: each passes the accessibility and layout checks of `assert_usable` (axe-core's
WCAG 2.1 A/AA rules, named controls, a main landmark, nothing wider than the screen).

The journeys (test_merchant_journey, test_staff_repay) check the pages they pass through;
this one reaches the rest: forms, lists with rows, detail pages, the audit log.
"""

from __future__ import annotations

from django.contrib.auth.models import Group
from playwright.sync_api import expect

from daozhang.core.alerts import raise_alert
from daozhang.risk.services import hold_funds
from daozhang.settlement.adjustments import adjust
from daozhang.settlement.models import SettlementBatch
from daozhang.support.services import open_case
from tests.browser.conftest import assert_usable, sign_in
from tests.portal_helpers import PASSWORD, portal_user
from tests.settlement_helpers import Clock


def _login(page, username: str) -> None:
    sign_in(page, username)
    expect(page.locator("main")).to_be_visible()


def _audit(page, shots, paths: list[str], tag: str) -> None:
    for path in paths:
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        assert_usable(page)
        shots(page, f"{tag}-{path.strip('/').replace('/', '-') or 'home'}")


def test_every_portal_and_console_page_is_usable_on_a_phone(make_merchant, monkeypatch, phone_page, shots,
                                                             django_user_model):
    clock = Clock(monkeypatch)
    kit = make_merchant()
    portal_user(kit.merchant.id, "shopkeeper")
    admin = django_user_model.objects.create_user("admin1", password=PASSWORD, is_staff=True)
    admin.groups.add(Group.objects.get(name="管理员"))
    clock.at(2026, 11, 2, 10, 0)
    sale = kit.sale(30000).json()
    kit.sale(12345, channel="wechat", entry_mode="qr", pan=None)
    clock.settle(2026, 11, 2)
    clock.pay(2026, 11, 3)
    clock.at(2026, 11, 3, 10, 0)
    kit.sale(5000)
    hold = hold_funds(merchant_id=kit.merchant.id, amount=1000, case_ref="RC-7", reason="chargeback risk",
                      actor="risk1")
    case = open_case(merchant=kit.merchant, kind="missing_money", subject="钱没到账", diagnosis={"cause": "none"},
                     actor="shopkeeper")
    raise_alert("payout_stuck", "demo", en="A payout is stuck at the bank.", zh="一笔出款卡在银行。")
    batch = SettlementBatch.objects.get(merchant=kit.merchant)
    approval = adjust(merchant_id=kit.merchant.id, amount=900_000, reason="补差 compensation", actor="staff:fin9")
    page = phone_page

    _login(page, "shopkeeper")
    portal = ["/portal/", "/portal/payments/", f"/portal/payments/{sale['id']}/", "/portal/settlements/",
              f"/portal/settlements/{batch.id}/", "/portal/enquiry/", "/portal/me/", "/portal/me/profile/",
              "/portal/me/settlement-account/", "/portal/me/settlement-account/change/", "/portal/me/api-keys/",
              "/portal/me/password/"]
    _audit(page, shots, portal, "zh")
    page.get_by_role("button", name="English").click()  # the language switch every page has
    expect(page.locator("html")).to_have_attribute("lang", "en")
    _audit(page, shots, ["/portal/", "/portal/payments/", f"/portal/settlements/{batch.id}/"], "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_role("button", name="退出登录").click()

    _login(page, "admin1")
    m = kit.merchant.id
    console = ["/console/", "/console/merchants/", "/console/merchants/new/", f"/console/merchants/{m}/",
               f"/console/merchants/{m}/status/", f"/console/merchants/{m}/holds/new/",
               f"/console/merchants/{m}/adjustments/new/", f"/console/holds/{hold.id}/release/",
               "/console/terminals/", "/console/terminals/new/", f"/console/terminals/{kit.terminal.pk}/bind/",
               f"/console/terminals/{kit.terminal.pk}/status/", "/console/payouts/", "/console/alerts/",
               "/console/cases/", f"/console/cases/{case.id}/", "/console/audit/", "/console/approvals/",
               f"/console/approvals/{approval.id}/", "/console/tokens/"]
    _audit(page, shots, console, "console")
