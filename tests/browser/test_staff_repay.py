"""A finance staff member holds a payout the bank returned, the merchant corrects the
account in the portal, the staff member re-pays it in the console, and the merchant sees
the money arrived — each step in the browser, on a phone-width screen."""

from __future__ import annotations

import re

from django.contrib.auth.models import Group
from playwright.sync_api import expect

from daozhang.audit.models import AuditEvent
from daozhang.merchants.services import BankAccountInput
from daozhang.notifications.models import SandboxMessage
from daozhang.settlement.models import SettlementBatch
from daozhang.settlement.payouts import run_payouts
from daozhang.settlement.tasks import verify_pending_accounts
from tests.browser.conftest import assert_usable, sign_in, sign_out
from tests.portal_helpers import PASSWORD, portal_user


def test_staff_repays_a_returned_payout_after_the_account_is_corrected(
        make_merchant, monkeypatch, phone_page, shots, django_user_model, settings):
    from tests.settlement_helpers import Clock

    settings.PAYOUT_COOLOFF_HOURS = 0  # the cool-off after a change: tests/settlement/test_payout_checks.py

    clock = Clock(monkeypatch)
    kit = make_merchant(legal_name="测试花店有限公司", bank_account=BankAccountInput(
        holder_name="测试花店有限公司", account_number="6222000011110002", bank_name="工商银行",
        account_type="corporate"))
    portal_user(kit.merchant.id, "flowers")
    finance = django_user_model.objects.create_user("fin1", password=PASSWORD, is_staff=True)
    finance.groups.add(Group.objects.get(name="财务"))
    clock.at(2026, 11, 2, 10, 0)
    kit.sale(30000)
    clock.settle(2026, 11, 2)
    assert clock.pay(2026, 11, 3).returned == 1  # R02: the account is closed
    batch = SettlementBatch.objects.get(merchant=kit.merchant)
    clock.at(2026, 11, 3, 10, 0)
    page = phone_page

    # Finance holds the returned batch until the merchant has given a working account.
    sign_in(page, "fin1")
    page.goto("/console/payouts/?state=returned")
    row = page.locator(f"#batch-{batch.id}")
    expect(row).to_contain_text("R02")
    assert_usable(page)
    shots(page, "queue-returned")
    page.locator(f"#hold-{batch.id}").click()
    page.get_by_label("原因").fill("等待商户更正结算账户 waiting for the merchant's new account")
    page.locator("#hold-submit").click()
    expect(page.locator(".flash").first).to_contain_text("暂缓")
    shots(page, "held")
    sign_out(page)

    # The merchant reads why and corrects the account in the portal.
    sign_in(page, "flowers")
    page.goto(f"/portal/settlements/{batch.id}/")
    expect(page.locator("#cause")).to_have_attribute("data-cause", "held")
    shots(page, "merchant-sees-held")
    page.goto("/portal/me/settlement-account/")
    page.get_by_label("户名").fill("测试花店有限公司")
    page.get_by_label("银行账号").fill("6222000011113333")
    page.get_by_label("开户银行").fill("工商银行")
    page.get_by_role("button", name="提交变更").click()
    expect(page.locator("#pending-account")).to_be_visible()
    # The code went to the merchant's registered phone (the sandbox SMS keeps what it sent).
    sms = SandboxMessage.objects.filter(recipient=kit.merchant.contact_phone, body__contains="验证码").get()
    page.get_by_label("6 位验证码").fill(re.search(r"验证码：(\d{6})", sms.body).group(1))
    page.locator("#code-submit").click()
    expect(page.locator("#change-timeline [aria-current=step]")).to_contain_text("银行验证中")
    assert_usable(page)
    shots(page, "account-change-pending")
    verify_pending_accounts.call()  # the worker asks the bank to verify the new account
    page.reload()
    expect(page.locator("#current-account")).to_contain_text("6222 **** 3333")
    shots(page, "account-verified")
    sign_out(page)

    # Finance sees the account corrected and re-pays.
    sign_in(page, "fin1")
    page.goto("/console/payouts/?state=held")
    expect(page.locator(f"#batch-{batch.id}")).to_contain_text("3333")
    shots(page, "queue-held-corrected")
    page.locator(f"#repay-{batch.id}").click()
    page.get_by_label("原因").fill("账户已更正 account corrected")
    page.locator("#repay-submit").click()
    shots(page, "repaid")
    sign_out(page)
    assert run_payouts().paid == 1  # the payout job the re-pay started

    # The merchant sees it arrived.
    sign_in(page, "flowers")
    page.goto(f"/portal/settlements/{batch.id}/")
    cause = page.locator("#cause")
    expect(cause).to_have_attribute("data-cause", "arrived")
    expect(cause).to_contain_text("6222 **** 3333")
    assert_usable(page)
    shots(page, "merchant-sees-arrived")
    actions = set(AuditEvent.objects.filter(object_id=str(batch.id)).values_list("action", "actor"))
    assert {("batch.hold", "staff:fin1"), ("batch.repay", "staff:fin1")} <= actions
