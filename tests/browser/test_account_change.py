"""Issue 11, item 2 in the browser: the owner of an individual business switches payouts
to another person's card. A code goes to the registered phone; the owner types it; the
change waits for a second staff member, who approves it in the console (Approvals);
the bank verifies it; the owner follows every step on the change's timeline."""

from __future__ import annotations

import re

from django.contrib.auth.models import Group
from playwright.sync_api import expect

from daozhang.merchants.models import SettlementAccount
from daozhang.merchants.services import BankAccountInput
from daozhang.notifications.models import SandboxMessage
from daozhang.settlement.tasks import verify_pending_accounts
from tests.browser.conftest import assert_usable, sign_in, sign_out
from tests.conftest import DEBIT_CARD, valid_uscc
from tests.portal_helpers import PASSWORD, portal_user


def test_owner_switches_to_a_personal_card_with_the_sms_code_and_a_second_staff_member(
        make_merchant, phone_page, shots, django_user_model):
    kit = make_merchant(uscc=valid_uscc(9901, entity="92"), legal_name="张三烧烤店", bank_account=BankAccountInput(
        holder_name="张三", account_number="6222021234567890128", bank_name="中国建设银行", account_type="personal"))
    portal_user(kit.merchant.id, "bbq")
    risk = django_user_model.objects.create_user("risk1", password=PASSWORD, is_staff=True)
    risk.groups.add(Group.objects.get(name="风控"))
    page = phone_page

    sign_in(page, "bbq")
    page.goto("/portal/me/settlement-account/")
    page.get_by_label("户名").fill("李四")
    page.get_by_label("银行账号").fill(DEBIT_CARD)
    page.get_by_label("开户银行").fill("中国工商银行")
    page.get_by_label("账户类型").select_option("personal")
    page.get_by_role("button", name="提交变更").click()
    expect(page.locator(".flash").first).to_contain_text("验证码已发送至")
    assert_usable(page)
    shots(page, "code-sent")
    sms = SandboxMessage.objects.filter(recipient=kit.merchant.contact_phone, body__contains="验证码").get()
    page.get_by_label("6 位验证码").fill(re.search(r"验证码：(\d{6})", sms.body).group(1))
    page.locator("#code-submit").click()
    timeline = page.locator("#change-timeline")
    expect(timeline.locator("[aria-current=step]")).to_contain_text("等待运营复核")
    expect(timeline).to_contain_text("户名与当前账户不同")
    assert_usable(page)
    shots(page, "awaiting-review")
    sign_out(page)

    sign_in(page, "risk1")
    page.goto("/console/approvals/")
    row = page.locator("tr[id^=approval-]").first
    expect(row).to_contain_text("李四")
    assert_usable(page)
    shots(page, "console-approvals")
    row.get_by_role("link").click()
    page.get_by_label("复核意见").fill("已电话回访负责人 called the owner back")
    page.locator("#approve-submit").click()
    expect(page.locator(".flash").first).to_contain_text("已批准")
    shots(page, "approved")
    sign_out(page)

    verify_pending_accounts.call()  # the worker asks the bank
    sign_in(page, "bbq")
    page.goto("/portal/me/settlement-account/")
    expect(page.locator("#current-account")).to_contain_text("李四")
    steps = page.locator("#change-timeline li")
    expect(steps).to_have_count(5)
    expect(steps.last).to_contain_text("银行验证通过，已生效")
    assert_usable(page)
    shots(page, "in-effect")
    assert SettlementAccount.objects.get(merchant=kit.merchant, is_current=True).verified_at is not None
