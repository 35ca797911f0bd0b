"""Notifications from outbox events: templates in both languages, the providers (sandbox SMS
and e-mail, real SMTP to an aiosmtpd server), retries, dead letters and the console's
delivery log — and an e-mail worker killed mid-send sends the message once."""

from __future__ import annotations

import datetime as dt
import signal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client
from django.urls import reverse

from daozhang.audit.models import AuditEvent
from daozhang.console.roles import ADMIN, CUSTOMER_SERVICE, FINANCE
from daozhang.core import events
from daozhang.core.models import OutboxDelivery
from daozhang.notifications.models import Notification, SandboxMessage, mask_recipient
from daozhang.notifications.templates import KINDS, render
from daozhang.risk.services import hold_funds, release_hold
from daozhang.settlement.adjustments import adjust
from daozhang.support.services import open_case, set_case_status
from tests.outbox_support import T0, FlakySms, SmtpServer, outbox_env, stop_process, wait_until, worker_process

# (kind, data, 中文, English): the wording each service sent before the outbox, unchanged.
CASES = [
    ("payout_paid", {"amount": 123456, "bank_ref": "BK001", "payout_id": "p"},
     "¥1,234.56 已到账（银行流水号 BK001）。", "¥1,234.56 has arrived in your account (bank ref BK001)."),
    ("payout_returned", {"amount": 29850, "reason": "账户已销户", "return_code": "R02", "payout_id": "p"},
     "您的 ¥298.50 出款被银行退回：账户已销户。请更正结算账户后将重新出款。",
     "Your payout of ¥298.50 was returned by the bank: 账户已销户. Correct your settlement account to be paid again."),
    ("adjustment", {"amount": -500, "reason": "手续费补扣", "actor": "staff:fin", "adjustment_id": "a"},
     "staff:fin 对您的账户调减 ¥5.00：手续费补扣", "¥5.00 was deducted from your account by staff:fin: 手续费补扣"),
    ("adjustment", {"amount": 500, "reason": "补差 {x}", "actor": "staff:fin", "adjustment_id": "a"},
     "staff:fin 对您的账户调增 ¥5.00：补差 {x}", "¥5.00 was credited to your account by staff:fin: 补差 {x}"),
    ("funds_frozen", {"amount": 10000, "case_ref": "R-1", "reason": "可疑交易", "hold_id": "h"},
     "您的 ¥100.00 资金因审核被冻结（案件 R-1）：可疑交易",
     "¥100.00 of your funds is held for review (case R-1): 可疑交易"),
    ("funds_released", {"amount": 10000, "case_ref": "R-1", "hold_id": "h"},
     "案件 R-1 冻结的 ¥100.00 已解冻。", "¥100.00 held under case R-1 is released."),
    ("case_opened", {"case_no": "CS2026110200001", "subject": "没到账", "case_id": "c"},
     "已为您创建工单 CS2026110200001，客服将尽快答复：没到账",
     "We opened case CS2026110200001 and will answer you: 没到账"),
    ("case_resolved", {"case_no": "CS1", "note": "已重新出款", "case_id": "c"},
     "工单 CS1 已处理完毕：已重新出款", "Case CS1 is resolved: 已重新出款"),
    ("account_change_requested", {"holder": "张三", "account": "6222 **** 0004", "account_id": "a"},
     "商户门户中提交了将结算账户变更为 张三 6222 **** 0004 的申请，确认验证码并经审核、银行验证后生效。"
     "如非本人操作，请立即联系客服。",
     "A change of your settlement account to 张三 6222 **** 0004 was requested in the portal; it takes effect only "
     "after the code is confirmed, it is reviewed and the bank verifies it. If this was not you, call us now."),
    ("account_rejected", {"reason": "户名不符", "account_id": "a"},
     "您的新结算账户未通过验证：户名不符。", "Your new settlement account was not verified: 户名不符."),
    ("account_verified", {"account": "****0002", "repaid": 2, "account_id": "a"},
     "您的结算账户 ****0002 已验证通过，2 笔退回款项将重新出款。",
     "Your settlement account ****0002 is verified; 2 returned payout(s) will be paid to it."),
    ("account_verified", {"account": "****0002", "repaid": 0, "account_id": "a"},
     "您的结算账户 ****0002 已验证通过。", "Your settlement account ****0002 is verified."),
]


@pytest.mark.parametrize(("kind", "data", "zh", "en"), CASES)
def test_templates_render_in_both_languages(kind, data, zh, en):
    text = render(kind, data)
    assert (text.zh, text.en) == (zh, en)
    assert text.text == f"{zh}\n{en}" and " / " in text.subject


def test_every_notifying_kind_has_a_tested_template_and_a_missing_field_is_an_error():
    assert {k for k, *_ in CASES} == set(KINDS)
    with pytest.raises(KeyError):
        render("payout_paid", {"amount": 1})


def test_recipients_are_masked():
    assert mask_recipient("13812345678") == "138****5678"
    assert mask_recipient("+8613812345678") == "+86 138****5678"
    assert mask_recipient("zhang@shop.cn") == "z***@shop.cn"


def test_services_notify_through_the_outbox_by_sms_and_email(make_merchant, deliver_outbox):
    kit = make_merchant(contact_email="boss@shop.cn")
    m = kit.merchant
    adjust(merchant_id=m.id, amount=20000, reason="补差", actor="staff:fin")
    hold = hold_funds(merchant_id=m.id, amount=5000, case_ref="R-9", reason="核查", actor="staff:risk")
    release_hold(hold_id=hold.id, note="ok", actor="staff:risk")
    case = open_case(merchant=m, kind="payout", subject="没到账", diagnosis={}, actor="merchant")
    set_case_status(case_id=case.id, status="resolved", note="已重新出款", actor="staff:cs")
    assert not Notification.objects.exists()  # recorded, not sent: the worker sends
    run = deliver_outbox()
    assert run.done == 10 and not run.failed
    kinds = ["adjustment", "funds_frozen", "funds_released", "case_opened", "case_resolved"]
    for channel, recipient in (("sms", "+8613812345678"), ("email", "boss@shop.cn")):
        sent = Notification.objects.filter(merchant=m, channel=channel)
        assert sorted(sent.values_list("kind", flat=True)) == sorted(kinds)
        assert set(sent.values_list("status", "attempts", "recipient")) == {("sent", 1, recipient)}
    assert Notification.objects.get(kind="funds_frozen", channel="sms").body_zh == \
        "您的 ¥50.00 资金因审核被冻结（案件 R-9）：核查"
    assert SandboxMessage.objects.filter(channel="email").count() == 5
    assert SandboxMessage.objects.filter(channel="sms").count() == 5
    assert deliver_outbox().claimed == 0


def test_email_is_delivered_to_a_real_smtp_server(make_merchant, deliver_outbox, settings):
    kit = make_merchant(contact_email="boss@shop.cn")
    with SmtpServer() as smtp:
        smtp.settings(settings)
        adjust(merchant_id=kit.merchant.id, amount=12345, reason="补差", actor="staff:fin")
        assert deliver_outbox().done == 2
    [mail] = smtp.inbox.messages
    delivery = OutboxDelivery.objects.get(subscriber="notifications.email")
    assert mail["To"] == "boss@shop.cn" and mail["From"] == "daozhang <noreply@daozhang.test>"
    assert mail["Subject"] == "账户调整 / Account adjustment"
    assert mail["Message-ID"] == f"<outbox-{delivery.id}@daozhang.test>"
    body = mail.get_content()
    assert "staff:fin 对您的账户调增 ¥123.45：补差" in body and "¥123.45 was credited to your account" in body
    n = Notification.objects.get(channel="email")
    assert (n.status, n.provider, n.provider_message_id) == ("sent", "smtp", mail["Message-ID"])
    assert not SandboxMessage.objects.filter(channel="email").exists()


def test_smtp_down_is_retried_with_backoff_then_sent(make_merchant, deliver_outbox, settings, hand_clock):
    settings.OUTBOX_RETRY_BASE_SECONDS = 30
    kit = make_merchant(contact_email="boss@shop.cn")
    smtp = SmtpServer()
    smtp.settings(settings)  # its port, but not started yet: connection refused
    adjust(merchant_id=kit.merchant.id, amount=100, reason="x", actor="staff:fin")
    deliver_outbox()
    n = Notification.objects.get(channel="email")
    assert (n.status, n.attempts) == ("failed", 1) and "SMTP 127.0.0.1" in n.error
    d = OutboxDelivery.objects.get(subscriber="notifications.email")
    assert d.next_attempt_at == T0 + dt.timedelta(seconds=30)
    with smtp:
        assert deliver_outbox().claimed == 0  # backing off
        hand_clock.advance(30)
        assert deliver_outbox().done == 1
    n.refresh_from_db()
    assert (n.status, n.attempts, n.error) == ("sent", 2, "")
    assert len(smtp.inbox.messages) == 1


def test_a_failing_sms_provider_is_retried_then_succeeds(make_merchant, deliver_outbox, settings, hand_clock):
    settings.NOTIFY_PROVIDERS = {**settings.NOTIFY_PROVIDERS, "sms": "tests.outbox_support.FlakySms"}
    FlakySms.failures, FlakySms.calls = 2, 0
    kit = make_merchant()
    adjust(merchant_id=kit.merchant.id, amount=100, reason="x", actor="staff:fin")
    for expected in (("failed", 1), ("failed", 2)):
        deliver_outbox()
        n = Notification.objects.get(channel="sms")
        assert (n.status, n.attempts) == expected and "gateway unavailable" in n.error
        hand_clock.advance(3600)
    deliver_outbox()
    n.refresh_from_db()
    assert (n.status, n.attempts) == ("sent", 3)
    assert SandboxMessage.objects.count() == 1


@pytest.fixture
def staff(db):
    def make(role=None):
        user = get_user_model().objects.create_user(f"u{get_user_model().objects.count()}", password="x-long-pw-99",
                                                    is_staff=True)
        if role is not None:
            user.groups.add(Group.objects.get(name=role.group))
        c = Client()
        c.force_login(user)
        return c, user
    return make


def test_dead_notifications_show_in_the_console_and_staff_retry_them(make_merchant, deliver_outbox, settings,
                                                                    hand_clock, staff):
    settings.NOTIFY_PROVIDERS = {**settings.NOTIFY_PROVIDERS, "sms": "tests.outbox_support.FlakySms"}
    settings.OUTBOX_MAX_ATTEMPTS = 2
    FlakySms.failures, FlakySms.calls = 2, 0
    kit = make_merchant()
    adjust(merchant_id=kit.merchant.id, amount=100, reason="x", actor="staff:fin")
    deliver_outbox()
    hand_clock.advance(3600)
    deliver_outbox()
    n = Notification.objects.get(channel="sms")
    d = OutboxDelivery.objects.get(subscriber="notifications.sms")
    assert (n.status, d.status, d.attempts) == ("dead", "dead", 2)

    nobody, _ = staff()
    assert nobody.get(reverse("console:deliveries")).status_code == 403
    finance, _ = staff(FINANCE)
    assert finance.get(reverse("console:deliveries")).status_code == 403
    cs, _ = staff(CUSTOMER_SERVICE)
    page = cs.get(reverse("console:deliveries"), {"state": "dead"}).content.decode()
    assert f'id="delivery-{d.id}"' in page and "+86 138****5678" in page and "13812345678" not in page
    assert "gateway unavailable" in page and f'id="retry-{d.id}"' not in page  # cs may look, not retry
    assert f'id="delivery-{d.id}"' not in cs.get(reverse("console:deliveries"), {"state": "done"}).content.decode()
    assert cs.post(reverse("console:delivery_retry", args=[d.id]), {"note": "x"}).status_code == 403

    admin, user = staff(ADMIN)
    assert f'id="retry-{d.id}"' in admin.get(reverse("console:deliveries")).content.decode()
    r = admin.post(reverse("console:delivery_retry", args=[d.id]), {"note": "网关已恢复"})
    assert r.status_code == 302
    ev = AuditEvent.objects.get(action="outbox.retry")
    assert ev.actor == f"staff:{user.username}" and ev.before["status"] == "dead"
    assert ev.after["note"] == "网关已恢复" and ev.merchant_id == kit.merchant.id
    assert Notification.objects.get(channel="sms").status == "queued"
    deliver_outbox()
    assert Notification.objects.get(channel="sms").status == "sent"
    assert SandboxMessage.objects.count() == 1
    # A delivered one is not retried: the page says so, and a post is refused by the service.
    assert b"action-blocked" in admin.get(reverse("console:delivery_retry", args=[d.id])).content
    assert admin.post(reverse("console:delivery_retry", args=[d.id]), {"note": "again"}).status_code == 400
    assert AuditEvent.objects.filter(action="outbox.retry").count() == 1


def test_an_email_worker_killed_mid_send_sends_the_message_once(make_merchant, child_env):
    """The kill lands while the SMTP server holds the DATA unanswered: the server never
    accepted that copy; the restarted worker sends it again, and it is accepted once."""
    kit = make_merchant(contact_email="boss@shop.cn")
    with SmtpServer() as smtp:
        env = {**outbox_env(child_env), **smtp.env(),
               "DAOZHANG_SMS_PROVIDER": "daozhang.notifications.providers.SandboxSms"}
        smtp.inbox.hold.set()
        with transaction.atomic():
            events.emit("case_resolved", merchant_id=kit.merchant.id,
                        data={"case_id": "c", "case_no": "CS1", "note": "已重新出款"})
        first = worker_process(env)
        try:
            assert wait_until(smtp.inbox.holding.is_set, first), stop_process(first)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=60)
        finally:
            if first.poll() is None:
                first.kill()
        smtp.inbox.hold.clear()
        n = Notification.objects.get(channel="email")
        assert (n.status, n.attempts) == ("queued", 1)  # logged before the send, never confirmed
        second = worker_process(env)
        try:
            assert wait_until(lambda: Notification.objects.filter(channel="email", status="sent").exists(), second), \
                stop_process(second)
        finally:
            out = stop_process(second)
        assert len(smtp.inbox.messages) == 1, out
    n.refresh_from_db()
    assert (n.status, n.attempts, n.provider) == ("sent", 2, "smtp")
    assert "工单 CS1 已处理完毕：已重新出款" in smtp.inbox.messages[0].get_content()
