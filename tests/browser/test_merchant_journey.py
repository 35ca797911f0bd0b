"""A merchant on a phone: logs in, finds yesterday's payment by the card's last four
digits, opens it, reads why the money has not arrived yet, downloads the statement."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, assert_usable
from tests.conftest import card
from tests.portal_helpers import PASSWORD, portal_user
from tests.settlement_helpers import Clock


def test_merchant_finds_yesterdays_payment_reads_why_and_downloads_the_statement(
        make_merchant, monkeypatch, phone_page, shots, tmp_path):
    clock = Clock(monkeypatch)
    kit = make_merchant()
    portal_user(kit.merchant.id, "florist")
    clock.at(2026, 10, 1, 11, 30)  # National Day: sales go on, banks rest
    kit.sale(8800, channel="wechat", entry_mode="qr", pan=None)
    mine = kit.sale(26800, pan=card("62220298765432")).json()
    clock.settle(2026, 10, 1)
    clock.at(2026, 10, 2, 9, 15)  # "yesterday" is 10-01

    page = phone_page
    page.goto("/login/")
    expect(page.get_by_role("heading", name="登录到账")).to_be_visible()
    page.get_by_label("用户名").fill("florist")
    page.get_by_label("密码").fill(PASSWORD)
    assert_usable(page)
    shots(page, "login")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#unsettled")).to_be_visible()
    assert_usable(page)
    shots(page, "dashboard")

    page.get_by_role("link", name="交易", exact=True).click()
    page.get_by_label("开始日期").fill("2026-10-01")
    page.get_by_label("结束日期").fill("2026-10-01")
    page.get_by_label("卡号后四位").fill(mine["masked_pan"][-4:])
    page.get_by_role("button", name="查询").click()
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("¥268.00")
    assert "last4=" in page.url  # the search is in the address: back, reload and share keep it
    assert_usable(page)
    shots(page, "found-by-last-four")

    rows.first.get_by_role("link").click()
    cause = page.locator("#cause")
    expect(cause).to_have_attribute("data-cause", "not_due")
    expect(cause).to_contain_text("2026-10-08")  # T+1 skips the National Day holiday
    expect(page.get_by_role("heading", name="时间线")).to_be_visible()
    assert_usable(page)
    shots(page, "why-not-arrived")

    page.get_by_role("link", name="查看所属结算批次与结算单").click()
    expect(page.get_by_role("heading", name="结算批次 2026-10-01")).to_be_visible()
    assert_usable(page)
    shots(page, "batch")
    with page.expect_download() as dl:
        page.get_by_role("button", name="下载结算单 PDF").click()
    saved = tmp_path / dl.value.suggested_filename
    dl.value.save_as(saved)
    assert saved.name == f"statement-{kit.merchant.merchant_no}-2026-10-01.pdf"
    assert saved.read_bytes().startswith(b"%PDF")
    assert PHONE["width"] == page.viewport_size["width"]
