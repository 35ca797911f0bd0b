"""A merchant owner, where two-factor sign-in is required, signs in with the password, is
sent to set up an authenticator app (QR code and the secret to type), confirms it with a
code, keeps the backup codes, and at the next sign-in gives a code after the password.
The codes are computed from the secret read off the page, as an authenticator app does."""

from __future__ import annotations

import base64
import re
import time

from django_otp.oath import TOTP
from playwright.sync_api import expect

from daozhang.audit.models import AuditEvent
from tests.browser.conftest import assert_usable, sign_in
from tests.portal_helpers import portal_user


def _code(secret: str, step_offset: int = 0) -> str:
    totp = TOTP(base64.b32decode(secret.replace(" ", "")), step=30, t0=0, digits=6, drift=0)
    totp.time = time.time() + 30 * step_offset
    return f"{totp.token():06d}"


def test_an_owner_sets_up_the_authenticator_and_signs_in_with_a_code(make_merchant, phone_page, shots, settings):
    settings.REQUIRE_2FA = True
    kit = make_merchant()
    portal_user(kit.merchant.id, "boss")
    page = phone_page

    sign_in(page, "boss")
    expect(page).to_have_url(re.compile(r"/login/two-factor/"))  # the password alone reaches nothing else
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    assert_usable(page)
    shots(page, "enrol")
    page.goto("/portal/")  # tries to skip the step
    expect(page).to_have_url(re.compile(r"/login/two-factor/"))
    page.get_by_label("应用中的 6 位动态码").fill(_code(secret))
    page.locator("#confirm-submit").click()
    expect(page.locator("#backup-codes li")).to_have_count(10)
    expect(page.locator("#twofactor-on")).to_be_visible()
    assert_usable(page)
    shots(page, "backup-codes")
    page.goto("/portal/")
    expect(page.get_by_text("今日交易")).to_be_visible()
    page.get_by_role("button", name="退出登录").click()

    sign_in(page, "boss")
    expect(page.get_by_role("heading", name="输入动态码")).to_be_visible()
    assert_usable(page)
    shots(page, "verify")
    page.get_by_label("动态码或备用码").fill("000000" if _code(secret, 1) != "000000" else "111111")
    page.locator("#verify-submit").click()
    expect(page.locator("#err-code")).to_contain_text("不正确")
    shots(page, "wrong-code")
    time.sleep(1.1)  # django-otp's one-second wait after a wrong code (not a timing assertion)
    page.get_by_label("动态码或备用码").fill(_code(secret, 1))  # the next step: the enrolment's is used
    page.locator("#verify-submit").click()
    expect(page.get_by_text("今日交易")).to_be_visible()
    shots(page, "signed-in")
    assert AuditEvent.objects.filter(action="user.2fa_enrol", actor="merchant-user:boss").exists()
