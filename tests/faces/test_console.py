"""The operations console: who may open what, every change audited, bad input writes nothing,
and a returned payout re-paid from the queue arrives after the payout run."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from daozhang.audit.models import AuditEvent
from daozhang.console.roles import ROLES, ensure_roles
from daozhang.core.alerts import raise_alert
from daozhang.core.models import Alert
from daozhang.merchants import services as merchants
from daozhang.merchants.models import Merchant
from daozhang.risk.models import RiskHold
from daozhang.risk.services import hold_funds
from daozhang.settlement.accounts import verify_account_change
from daozhang.settlement.models import BatchStatus, Payout, SettlementBatch
from daozhang.settlement.payouts import run_payouts
from daozhang.support.models import CaseEvent, SupportCase
from daozhang.support.services import open_case
from daozhang.terminals import services as terminals
from daozhang.terminals.models import Terminal
from tests.account_helpers import change_account
from tests.conftest import valid_uscc
from tests.settlement_helpers import Clock

D = dt.date
_n = itertools.count(1)
ROLE = {r.slug: r for r in ROLES}


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def staff(db: None) -> Callable[..., Any]:
    """A staff user in one role (slug from console/roles.py), or in none."""

    def make(slug: str | None = None) -> Any:
        user = get_user_model().objects.create_user(f"{slug or 'nobody'}{next(_n)}", password="x-very-long-pw-9",
                                                    is_staff=True)
        if slug:
            user.groups.add(Group.objects.get(name=ROLE[slug].group))
        return user

    return make


def login(user: Any, **kwargs: Any) -> Client:
    c = Client(**kwargs)
    c.force_login(user)
    return c


def returned_batch(make_merchant: Callable[..., Any], clock: Clock, account: str = "6222000011110002") -> Any:
    """A real returned payout: a sale, settled T+1, paid to a closed account (R02)."""
    kit = make_merchant(bank_account=merchants.BankAccountInput(
        holder_name="测试", account_number=account, bank_name="工商银行", account_type="corporate"))
    clock.at(2026, 11, 2, 10, 0)
    kit.sale(30000)
    clock.settle(2026, 11, 2)
    assert clock.pay(2026, 11, 3).returned == 1
    kit.batch = SettlementBatch.objects.get(merchant=kit.merchant)
    assert kit.batch.status == BatchStatus.RETURNED
    return kit


@pytest.fixture
def world(make_merchant: Callable[..., Any], clock: Clock) -> dict[str, Any]:
    """One of everything a console page shows: merchant, terminals, a returned batch, an alert, a case."""
    kit = returned_batch(make_merchant, clock)
    stock = terminals.register_terminal(serial_number="SN-STOCK-0001", terminal_id="S0000001", model="A8",
                                        actor="test")
    raise_alert("settlement_behind", "T1", en="T1 settlement is behind.", zh="T1 结算未完成。")
    kit.sale(20000)  # unsettled money, some of it frozen by risk
    hold = hold_funds(merchant_id=kit.merchant.id, amount=5000, case_ref="RK-W-1", reason="核查", actor="test")
    case = open_case(merchant=kit.merchant, kind="missing_money", subject="钱没到 money missing",
                     diagnosis={"finding": "nothing matches", "batches_near": [{"id": "b1", "net": 100}]},
                     actor="merchant:test")
    return {"merchant": kit.merchant.id, "terminal": kit.terminal.id, "stock_terminal": stock.id,
            "batch": kit.batch.id, "alert": Alert.objects.get(kind="settlement_behind").id, "case": case.id,
            "hold": hold.id, "payout": Payout.objects.get(batch=kit.batch).id, "kit": kit}


# (url name, object arguments, a role allowed to open it, a role not allowed)
PAGES = [
    ("console:merchants", [], "cs", "nobody"),
    ("console:merchant", ["merchant"], "cs", "nobody"),
    ("console:merchant_new", [], "admin", "risk"),
    ("console:merchant_status", ["merchant"], "risk", "cs"),
    ("console:hold_new", ["merchant"], "risk", "finance"),
    ("console:hold_release", ["hold"], "risk", "cs"),
    ("console:adjustment_new", ["merchant"], "finance", "risk"),
    ("console:terminals", [], "logistics", "nobody"),
    ("console:terminal_new", [], "logistics", "risk"),
    ("console:terminal_bind", ["stock_terminal"], "logistics", "cs"),
    ("console:terminal_status", ["terminal"], "logistics", "cs"),
    ("console:payouts", [], "finance", "logistics"),
    ("console:batch_repay", ["batch"], "finance", "cs"),
    ("console:batch_hold", ["batch"], "finance", "risk"),
    ("console:payout_cancel", ["payout"], "finance", "cs"),
    ("console:alerts", [], "finance", "cs"),
    ("console:alert_resolve", ["alert"], "finance", "risk"),
    ("console:cases", [], "cs", "logistics"),
    ("console:case", ["case"], "cs", "finance"),
    ("console:audit", [], "risk", "cs"),
]
POST_ONLY = [("console:case_note", ["case"], "cs", "risk"), ("console:case_status", ["case"], "cs", "risk")]
ACTIONS = [p for p in PAGES if p[0] in {"console:merchant_new", "console:merchant_status", "console:terminal_new",
                                        "console:hold_new", "console:hold_release", "console:adjustment_new",
                                        "console:terminal_bind", "console:terminal_status", "console:batch_repay",
                                        "console:batch_hold", "console:alert_resolve",
                                        "console:payout_cancel"}] + POST_ONLY


def url(name: str, args: list[str], world: dict[str, Any]) -> str:
    return reverse(name, args=[world[a] for a in args])


def labelled(html: str) -> list[str]:
    """Form controls without a <label for=…> (hidden inputs and buttons need none)."""
    ids = re.findall(r'<(?:input|select|textarea)\b(?![^>]*type="(?:hidden|submit)")[^>]*\bid="([^"]+)"', html)
    return [i for i in ids if f'for="{i}"' not in html]


def forms_without_token(html: str) -> list[str]:
    forms = re.findall(r'<form[^>]*method="post"[^>]*>.*?</form>', html, flags=re.S)
    return [f[:80] for f in forms if "csrfmiddlewaretoken" not in f]


def test_roles_exist_after_migrate_and_resync_is_idempotent(db):
    """The post_migrate hook made the groups; syncing again changes nothing and writes nothing."""
    for role in ROLES:
        have = {f"{p.content_type.app_label}.{p.codename}"
                for p in Group.objects.get(name=role.group).permissions.select_related("content_type")}
        assert have == set(role.perms), role.group
    assert ensure_roles() == {}
    g = Group.objects.get(name=ROLE["cs"].group)
    g.permissions.clear()  # someone edits a role in the admin: the next migrate puts it back, audited
    assert set(ensure_roles()) == {ROLE["cs"].group}
    assert g.permissions.count() == len(ROLE["cs"].perms)
    assert AuditEvent.objects.filter(action="console.role_sync", object_id=str(g.pk)).exists()


def test_roles_are_separated():
    perms = {r.slug: set(r.perms) for r in ROLES}
    assert "settlement.change_settlementbatch" in perms["finance"]
    assert "settlement.change_settlementbatch" not in perms["cs"] | perms["risk"] | perms["logistics"]
    assert "merchants.add_merchant" in perms["admin"] and "merchants.add_merchant" not in perms["risk"]
    assert "audit.view_auditevent" in perms["risk"] and "audit.view_auditevent" not in perms["cs"]
    assert all(not p.startswith("auth.") for p in perms["admin"])  # no role can grant itself more
    assert perms["admin"] >= perms["cs"] | perms["risk"] | perms["finance"] | perms["logistics"]


@pytest.mark.parametrize(("name", "args", "role", "_"), [*PAGES, ("console:home", [], "cs", "")])
def test_each_page_renders_for_a_permitted_role(world, staff, name, args, role, _):
    r = login(staff(role)).get(url(name, args, world))
    assert r.status_code == 200, r.content[:400]
    html = r.content.decode()
    assert 'lang="zh-CN"' in html and "运营控制台" in html
    assert labelled(html) == []
    assert forms_without_token(html) == []


@pytest.mark.parametrize(("name", "args", "_", "role"), PAGES)
def test_staff_without_the_permission_get_403(world, staff, name, args, _, role):
    before = snapshot()
    for user in (staff(None), staff(role if role != "nobody" else None)):
        c = login(user)
        assert c.get(url(name, args, world)).status_code == 403
        assert c.post(url(name, args, world), {"reason": "x", "note": "x", "status": "suspended", "amount": "1",
                                               "case_ref": "x", "merchant_no": "x"}).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize(("name", "args", "_", "role"), POST_ONLY)
def test_post_only_actions_refuse_staff_without_the_permission(world, staff, name, args, _, role):
    before = (staff_actions(), CaseEvent.objects.count())
    for user in (staff(None), staff(role)):
        assert login(user).post(url(name, args, world), {"note": "x", "status": "resolved",
                                                         "status_note": "x"}).status_code == 403
    assert (staff_actions(), CaseEvent.objects.count()) == before


ALL_URLS = [(n, a) for n, a, _, _ in PAGES + POST_ONLY] + [("console:home", [])]


@pytest.mark.parametrize(("name", "args"), ALL_URLS)
def test_merchant_users_are_refused_and_anonymous_users_sent_to_login(world, name, args):
    kit = world["kit"]
    mu = merchants.create_merchant_user(merchant_id=kit.merchant.id, username=f"owner{next(_n)}",
                                        password="x-very-long-pw-9", role="owner", actor="test")
    path = url(name, args, world)
    c = login(mu.user)
    assert c.get(path).status_code == 403
    assert c.post(path, {"reason": "x", "note": "x"}).status_code == 403
    r = Client().get(path)
    assert r.status_code == 302 and r["Location"].startswith("/login/?next=")
    assert Client().post(path, {"reason": "x"}).status_code == 302


@pytest.mark.parametrize(("name", "args", "role", "_"), ACTIONS)
def test_csrf_is_enforced_on_every_action(world, staff, name, args, role, _):
    before = staff_actions()
    c = login(staff(role), enforce_csrf_checks=True)
    r = c.post(url(name, args, world), {"reason": "x", "note": "x", "status": "suspended"})
    assert r.status_code == 403
    assert staff_actions() == before


def last_event(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).order_by("-at", "-id").first()  # type: ignore[return-value]


def test_merchant_actions_are_audited(world, staff):
    admin = staff("admin")
    c = login(admin)
    r = c.post(reverse("console:merchant_new"), {
        "legal_name": "控制台测试有限公司", "short_name": "控制台", "uscc": valid_uscc(9001), "mcc": "5812",
        "region_code": "2900", "contact_name": "李四", "contact_phone": "13912345678", "settlement_cycle": "T1",
        "fee_plan": "standard", "bank_account.holder_name": "控制台测试有限公司",
        "bank_account.account_number": "31001234567890999", "bank_account.bank_name": "中国银行",
        "bank_account.account_type": "corporate"})
    m = Merchant.objects.get(short_name="控制台")
    assert r.status_code == 302 and r["Location"] == reverse("console:merchant", args=[m.id])
    ev = last_event("merchant.onboard")
    assert ev.actor == f"staff:{admin.username}" and ev.after["merchant_no"] == m.merchant_no
    page = c.get(r["Location"])
    assert m.merchant_no in page.content.decode() and "已入网" in page.content.decode()  # the flash message
    assert "**** 0999" in page.content.decode() and "31001234567890999" not in page.content.decode()

    risk = staff("risk")
    c = login(risk)
    r = c.post(reverse("console:merchant_status", args=[m.id]), {"status": "suspended", "reason": "可疑交易"})
    assert r.status_code == 302
    ev = last_event("merchant.status")
    assert (ev.actor, ev.before, ev.after) == (f"staff:{risk.username}", {"status": "active"},
                                               {"status": "suspended", "reason": "可疑交易"})
    c.post(reverse("console:merchant_status", args=[m.id]), {"status": "active", "reason": "核实无误"})
    assert Merchant.objects.get(id=m.id).status == "active"
    assert last_event("merchant.status").before == {"status": "suspended"}
    trail = c.get(reverse("console:audit"), {"merchant": m.merchant_no}).content.decode()
    assert len(re.findall(r'<tr id="audit-', trail)) == 3  # onboard, suspend, reactivate: this merchant's only
    assert "可疑交易" in trail and f"staff:{admin.username}" in trail


def test_freeze_release_and_adjustment_are_audited_and_posted(world, staff):
    from daozhang.settlement.models import Adjustment

    m = Merchant.objects.get(id=world["merchant"])
    risk = staff("risk")
    c = login(risk)
    page = c.get(reverse("console:merchant", args=[m.id])).content.decode()
    assert 'id="merchant-freeze"' in page and f'id="release-{world["hold"]}"' in page
    assert 'id="merchant-adjust"' not in page  # adjustments are finance's
    r = c.post(reverse("console:hold_new", args=[m.id]), {"amount": "12.34", "case_ref": "RK-9", "reason": "拆单"})
    assert r.status_code == 302
    hold = RiskHold.objects.get(case_ref="RK-9")
    assert hold.amount == 1234
    ev = last_event("risk.hold")
    assert ev.actor == f"staff:{risk.username}" and ev.after["amount"] == 1234 and ev.after["reason"] == "拆单"
    assert c.post(reverse("console:hold_release", args=[hold.id]), {"note": "核实无误"}).status_code == 302
    ev = last_event("risk.release")
    assert (ev.before, ev.after) == ({"released": False}, {"released": True, "note": "核实无误"})
    assert c.get(reverse("console:hold_release", args=[hold.id])).status_code == 404  # released: gone from view

    finance = staff("finance")
    r = login(finance).post(reverse("console:adjustment_new", args=[m.id]), {"amount": "-19", "reason": "流量费"})
    assert r.status_code == 302
    assert Adjustment.objects.get(merchant=m).amount == -1900
    ev = last_event("settlement.adjust")
    assert ev.actor == f"staff:{finance.username}" and ev.after == {"amount": -1900, "reason": "流量费"}


def test_terminal_actions_are_audited(world, staff):
    user = staff("logistics")
    c = login(user)
    actor = f"staff:{user.username}"
    assert c.post(reverse("console:terminal_new"), {"serial_number": "sn-new-0001", "terminal_id": "n0000001",
                                                    "model": "A8"}).status_code == 302
    t = Terminal.objects.get(serial_number="SN-NEW-0001")
    ev = last_event("terminal.register")
    assert ev.actor == actor and ev.after == {"serial_number": "SN-NEW-0001", "terminal_id": "N0000001"}
    m = Merchant.objects.get(id=world["merchant"])
    r = c.post(reverse("console:terminal_bind", args=[t.id]), {"merchant_no": m.merchant_no,
                                                               "install_address": "上海市杨浦区"})
    assert r.status_code == 302
    ev = last_event("terminal.bind")
    assert (ev.actor, ev.before, ev.after["merchant_no"]) == (actor, {"status": "in_stock"}, m.merchant_no)
    assert c.post(reverse("console:terminal_status", args=[t.id]), {"status": "suspended", "reason": "设备丢失"}
                  ).status_code == 302
    ev = last_event("terminal.suspended")
    assert ev.actor == actor and ev.before["status"] == "bound"
    assert ev.after == {"status": "suspended", "reason": "设备丢失"}


def test_case_alert_and_batch_actions_are_audited(world, staff, deliver_outbox):
    cs = staff("cs")
    c = login(cs)
    case = SupportCase.objects.get(id=world["case"])
    assert c.post(reverse("console:case_note", args=[case.id]), {"note": "已致电商户"}).status_code == 302
    ev = last_event("support.note")
    assert ev.actor == f"staff:{cs.username}" and ev.after["note"] == "已致电商户"
    assert ev.merchant_id == case.merchant_id
    r = c.post(reverse("console:case_status", args=[case.id]), {"status": "resolved", "status_note": "已重新出款"})
    assert r.status_code == 302
    ev = last_event("support.status")
    assert (ev.before, ev.after) == ({"status": "open"}, {"status": "resolved", "note": "已重新出款"})
    page = c.get(r["Location"]).content.decode()
    assert "已致电商户" in page and "已重新出款" in page
    from daozhang.notifications.models import Notification

    deliver_outbox()
    assert Notification.objects.filter(kind="case_resolved", merchant_id=case.merchant_id).exists()

    finance = staff("finance")
    c = login(finance)
    assert c.post(reverse("console:alert_resolve", args=[world["alert"]]), {"note": "已补结算"}).status_code == 302
    ev = last_event("alert.resolve")
    assert ev.actor == f"staff:{finance.username}" and ev.before["resolved"] is False
    assert ev.after == {"resolved": True, "note": "已补结算"}
    assert Alert.objects.get(id=world["alert"]).resolved_at is not None

    assert c.post(reverse("console:batch_hold", args=[world["batch"]]), {"reason": "合规核查"}).status_code == 302
    ev = last_event("batch.hold")
    assert (ev.actor, ev.before, ev.after) == (f"staff:{finance.username}", {"status": "returned"},
                                               {"status": "held", "reason": "合规核查"})


def test_repay_of_a_returned_batch_after_the_account_was_corrected_is_paid(make_merchant, clock, staff, settings,
                                                                         django_capture_on_commit_callbacks):
    settings.PAYOUT_COOLOFF_HOURS = 0  # the cool-off after a change: tests/settlement/test_payout_checks.py
    kit = returned_batch(make_merchant, clock)
    b = kit.batch
    finance = staff("finance")
    c = login(finance)
    page = c.get(reverse("console:payouts")).content.decode()
    assert f'id="repay-{b.id}"' in page and "R02" in page and "未更正" in page
    assert "¥298.50" in page  # 300.00 − 0.5% fee, shown with |yuan
    # Finance holds it while the merchant fixes the account, so verification does not pay it by itself.
    c.post(reverse("console:batch_hold", args=[b.id]), {"reason": "等待商户更正账户"})
    account = change_account(kit.merchant, merchants.BankAccountInput(
        holder_name=kit.merchant.legal_name, account_number="6222000011119999", bank_name="工商银行",
        account_type="corporate"))
    verify_account_change(account_id=account.id)
    b.refresh_from_db()
    assert b.status == BatchStatus.HELD
    page = c.get(reverse("console:payouts") + "?state=held").content.decode()
    assert "已更正并验证" in page and "6222 **** 9999" in page

    form = c.get(reverse("console:batch_repay", args=[b.id])).content.decode()
    assert 'id="repay-submit"' in form and "确认重新付款" in form and "repay-warning" not in form
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        r = c.post(reverse("console:batch_repay", args=[b.id]), {"reason": "账户已更正"})
    assert r.status_code == 302 and r["Location"] == reverse("console:payouts")
    assert len(callbacks) == 1  # the payout run is enqueued after commit
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.filter(task_path__endswith="pay_due_batches").exists()
    ev = last_event("batch.repay")
    assert (ev.actor, ev.before, ev.after) == (f"staff:{finance.username}", {"status": "held"},
                                               {"status": "due", "reason": "账户已更正"})
    flash = c.get(r["Location"]).content.decode()
    assert "后台出款任务将立即处理" in flash and f'id="batch-{b.id}"' not in flash  # left the queue

    result = run_payouts()
    assert (result.submitted, result.paid) == (1, 1)
    second = Payout.objects.get(batch=b, attempt=2)
    assert second.status == "paid" and second.account_id == account.id
    b.refresh_from_db()
    assert b.status == BatchStatus.PAID


def test_repay_of_a_returned_batch_once_the_bank_fixed_its_record(make_merchant, clock, staff):
    """R01: the bank held the wrong holder name; once it is fixed, the returned batch is re-paid as it is."""
    from daozhang.channels.models import SandboxBankAccount

    SandboxBankAccount.register(account_number="31001234567890777", holder_name="别人")
    kit = returned_batch(make_merchant, clock, account="31001234567890777")
    c = login(staff("finance"))
    page = c.get(reverse("console:batch_repay", args=[kit.batch.id])).content.decode()
    assert "R01" in page and 'id="repay-warning"' in page  # not corrected on our side: warned
    SandboxBankAccount.objects.for_number("31001234567890777").update(holder_name="测试")
    assert c.post(reverse("console:batch_repay", args=[kit.batch.id]), {"reason": "银行已更正户名"}).status_code == 302
    assert run_payouts().paid == 1
    kit.batch.refresh_from_db()
    assert kit.batch.status == BatchStatus.PAID


def staff_actions() -> int:
    """Audit records other than those of making the test's staff users (auth.*)."""
    return AuditEvent.objects.exclude(action__startswith="auth.").count()


def snapshot() -> tuple[int, ...]:
    from daozhang.ledger.models import Entry
    from daozhang.settlement.models import Adjustment

    return (staff_actions(), Merchant.objects.count(), Terminal.objects.count(),
            Entry.objects.count(), Adjustment.objects.count(), RiskHold.objects.filter(released_at=None).count(),
            SettlementBatch.objects.filter(status=BatchStatus.RETURNED).count(), CaseEvent.objects.count(),
            Alert.objects.filter(resolved_at__isnull=True).count())


@pytest.mark.parametrize(("role", "name", "args", "data", "field", "message"), [
    ("admin", "console:merchant_new", [], {"legal_name": "某某公司", "short_name": "某某", "uscc": "123",
                                           "mcc": "5812", "region_code": "2900", "contact_name": "王五",
                                           "contact_phone": "13912345678", "settlement_cycle": "T1",
                                           "fee_plan": "standard", "bank_account.holder_name": "某某公司",
                                           "bank_account.account_number": "31001234567890999",
                                           "bank_account.bank_name": "中国银行",
                                           "bank_account.account_type": "corporate"}, "f-uscc", "统一社会信用代码无效"),
    ("admin", "console:merchant_new", [], {"legal_name": "某某公司", "short_name": "某某",
                                           "uscc": valid_uscc(9002), "mcc": "5812", "region_code": "2900",
                                           "contact_name": "王五", "contact_phone": "12345",
                                           "settlement_cycle": "T1", "fee_plan": "standard",
                                           "bank_account.holder_name": "某某公司",
                                           "bank_account.account_number": "31001234567890999",
                                           "bank_account.bank_name": "中国银行",
                                           "bank_account.account_type": "corporate"},
     "f-contact-phone", "手机号码不是有效的中国大陆号码"),
    ("risk", "console:merchant_status", ["merchant"], {"status": "suspended", "reason": ""}, "f-reason",
     "此项为必填项"),
    ("risk", "console:hold_new", ["merchant"], {"amount": "12.345", "case_ref": "RK", "reason": "x"}, "f-amount",
     "金额须写成"),
    ("risk", "console:hold_new", ["merchant"], {"amount": "99999", "case_ref": "RK", "reason": "x"}, "f-amount",
     "冻结金额超过商户未结算资金"),
    ("risk", "console:hold_new", ["merchant"], {"amount": "1", "case_ref": "", "reason": "x"}, "f-case-ref",
     "此项为必填项"),
    ("risk", "console:hold_release", ["hold"], {"note": ""}, "f-note", "此项为必填项"),
    ("finance", "console:adjustment_new", ["merchant"], {"amount": "0", "reason": "x"}, "f-amount", "调账金额不能为零"),
    ("finance", "console:adjustment_new", ["merchant"], {"amount": "-1", "reason": ""}, "f-reason", "此项为必填项"),
    ("logistics", "console:terminal_new", [], {"serial_number": "x", "terminal_id": "T1234567"},
     "f-serial-number", "取值无效"),
    ("logistics", "console:terminal_bind", ["stock_terminal"], {"merchant_no": "999"}, "f-merchant-no",
     "商户不存在"),
    ("logistics", "console:terminal_status", ["terminal"], {"status": "suspended", "reason": " "}, "f-reason",
     "此项为必填项"),
    ("finance", "console:batch_repay", ["batch"], {"reason": ""}, "f-reason", "此项为必填项"),
    ("finance", "console:batch_hold", ["batch"], {"reason": ""}, "f-reason", "此项为必填项"),
    ("finance", "console:alert_resolve", ["alert"], {"note": ""}, "f-note", "此项为必填项"),
    ("cs", "console:case_note", ["case"], {"note": "  "}, "f-note", "此项为必填项"),
    ("cs", "console:case_status", ["case"], {"status": "open", "status_note": "x"}, "f-status", "无法从 open"),
])
def test_bad_input_shows_the_field_error_and_writes_nothing(world, staff, role, name, args, data, field, message):
    before = snapshot()
    r = login(staff(role)).post(url(name, args, world), data)
    assert r.status_code == 400
    html = r.content.decode()
    assert f'id="{field}-error"' in html and message in html
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html)
    assert snapshot() == before


def test_self_resolving_alerts_are_shown_with_their_fix_and_cannot_be_hidden(world, staff):
    raise_alert("calendar_gap", "2099", en="No calendar for 2099.", zh="缺少 2099 年工作日历。")
    raise_alert("payout_stuck", "p-1", en="Payout p-1 failed 8 times.", zh="出款 p-1 已失败 8 次。")
    c = login(staff("finance"))
    page = c.get(reverse("console:alerts")).content.decode()
    assert "daozhang calendar load FILE" in page and "daozhang settle --date D" in page
    assert f'id="resolve-{world["alert"]}"' in page  # settlement_behind: a person closes it after settling
    for kind in ("calendar_gap", "payout_stuck"):
        alert = Alert.objects.get(kind=kind)
        assert f'id="resolve-{alert.id}"' not in page
        before = snapshot()
        r = c.post(reverse("console:alert_resolve", args=[alert.id]), {"note": "hide it"})
        assert r.status_code == 400 and snapshot() == before


def test_hold_of_a_batch_whose_payout_is_retrying_works_and_the_retry_is_never_sent(merchant_kit, clock, staff):
    """Issue 11, item 3: a hold was refused "in flight" while the bank was down, and the
    retry paid the batch once the bank was back. The attempt never reached the bank: the
    hold now works, and the retry is stopped under the lock before it is sent."""
    from daozhang.channels.models import SandboxBankTransfer
    from daozhang.channels.sandbox import set_outage

    clock.at(2026, 11, 2, 10, 0)
    merchant_kit.sale(30000)
    clock.settle(2026, 11, 2)
    set_outage("bank", True)
    try:
        assert clock.pay(2026, 11, 3).retrying == 1
        b = SettlementBatch.objects.get()
        c = login(staff("finance"))
        page = c.get(reverse("console:payouts") + "?state=retrying").content.decode()
        assert f'id="batch-{b.id}"' in page and "银行不可用" in page and f'id="hold-{b.id}"' in page
        r = c.post(reverse("console:batch_hold", args=[b.id]), {"reason": "compliance check"})
        assert r.status_code == 302 and SettlementBatch.objects.get().status == BatchStatus.HELD
    finally:
        set_outage("bank", False)
    clock.at(2026, 11, 3, 12, 0)
    r = run_payouts()
    assert (r.submitted, r.paid, r.stopped) == (0, 0, 1)
    p = Payout.objects.get()
    assert (p.status, p.stop_reason) == ("stopped", "batch_not_due") and not SandboxBankTransfer.objects.exists()
    page = login(staff("finance")).get(reverse("console:payouts") + "?state=held").content.decode()
    assert f'id="stop-{p.id}"' in page and "未发送" in page


def test_home_counts_only_the_queues_the_role_may_see(world, staff):
    finance = login(staff("finance")).get(reverse("console:home")).content.decode()
    assert 'id="queue-returned"' in finance and 'id="queue-alerts"' in finance and 'id="queue-cases"' not in finance
    assert re.search(r'id="queue-returned">.*?class="figure">1<', finance, flags=re.S)
    cs = login(staff("cs")).get(reverse("console:home")).content.decode()
    assert 'id="queue-cases"' in cs and 'id="queue-alerts"' not in cs
    assert 'id="nav-audit"' not in cs and 'id="nav-payouts"' in cs
    logistics = login(staff("logistics")).get(reverse("console:home")).content.decode()
    assert 'id="queue-' not in logistics and 'id="nav-terminals"' in logistics and 'id="nav-merchants"' in logistics
    nobody = login(staff(None)).get(reverse("console:home")).content.decode()
    assert 'id="nav-merchants"' not in nobody


def test_english_pages_and_merchant_search(world, staff):
    c = login(staff("cs"))
    c.cookies["django_language"] = "en"
    m = Merchant.objects.get(id=world["merchant"])
    page = c.get(reverse("console:merchants"), {"q": m.merchant_no[:8]}).content.decode()
    assert "Operations console" in page and f'id="merchant-{m.merchant_no}"' in page
    assert f'id="merchant-{m.merchant_no}"' not in c.get(reverse("console:merchants"), {"q": "nobody"}).content.decode()
    finance = login(staff("finance"))
    finance.cookies["django_language"] = "en"
    page = finance.get(reverse("console:payouts")).content.decode()
    assert ">Re-pay</strong></a>" in page and 'class="badge returned">Returned<' in page and "Not corrected" in page
    assert "重新付款" not in page and "未更正" not in page


def test_audit_log_keyset_pages_filters_and_is_read_only(db, staff):
    from daozhang.audit import services as audit

    for i in range(120):
        audit.record(actor=f"staff:bulk{i % 3}", action="test.bulk", obj_type="thing", obj_id=i)
    c = login(staff("risk"))
    seen: list[str] = []
    path = reverse("console:audit") + "?action=test.bulk"
    for _ in range(5):
        html = c.get(path).content.decode()
        seen += re.findall(r'<tr id="audit-([0-9a-f-]+)"', html)
        nxt = re.search(r'href="(\?[^"]*)" id="page-next"', html)
        if not nxt:
            break
        path = reverse("console:audit") + nxt.group(1).replace("&amp;", "&")
    assert len(seen) == 120 and len(set(seen)) == 120
    order = list(AuditEvent.objects.filter(action="test.bulk").order_by("-at", "-id").values_list("id", flat=True))
    assert seen == [str(i) for i in order]
    one = c.get(reverse("console:audit"), {"actor": "staff:bulk1", "object_id": "4"}).content.decode()
    assert len(re.findall(r'<tr id="audit-', one)) == 1
    bad = c.get(reverse("console:audit"), {"date_from": "2026-12-01", "date_to": "2026-11-01"})
    assert bad.status_code == 400 and 'id="f-date-to-error"' in bad.content.decode()
    assert c.get(reverse("console:audit"), {"merchant": "nope"}).status_code == 400
    assert c.post(reverse("console:audit")).status_code == 405  # read-only: no form on it posts anywhere
    assert len(re.findall(r'method="post"', html)) == 2  # the layout's language switch and sign-out only


def test_console_lists_page_back_to_the_same_rows(db, staff):
    """Three pages of the audit log forward, then "previous" twice: the same events, page by
    page, and no previous link on the first page (every console list shares the pager)."""
    from daozhang.audit import services as audit

    for i in range(120):
        audit.record(actor="staff:bulk", action="test.back", obj_type="thing", obj_id=i)
    c = login(staff("risk"))
    base = reverse("console:audit")

    def visit(query: str) -> tuple[list[str], str | None, str | None]:
        html = c.get(base + query).content.decode()
        links = {rel: href.replace("&amp;", "&") for href, rel in
                 re.findall(r'href="(\?[^"]*)" id="page-(?:next|prev)" rel="(next|prev)"', html)}
        return re.findall(r'<tr id="audit-([0-9a-f-]+)"', html), links.get("next"), links.get("prev")

    first, nxt, prev = visit("?action=test.back")
    assert prev is None and nxt
    second, nxt, _ = visit(nxt)
    third, none, prev3 = visit(nxt)
    assert (len(first), len(second), len(third), none) == (50, 50, 20, None)
    back, _, prev2 = visit(prev3)
    assert back == second and prev2
    back, _, prev1 = visit(prev2)
    assert back == first and prev1 is None


def test_demo_staff_users_one_per_role_idempotent(db):
    from daozhang import demo

    creds = demo._staff()
    again = demo._staff()
    assert creds == again
    for role in ROLES:
        user = get_user_model().objects.get(username=role.slug)
        assert user.is_staff and user.check_password(demo.DEMO_PASSWORD)
        assert user.groups.filter(name=role.group).exists()
        assert any(role.slug in v for v in creds.values())
    assert get_user_model().objects.get(username="admin").is_superuser


def test_a_double_posted_adjustment_moves_money_once(merchant_kit, staff):
    from daozhang.ledger.selectors import merchant_payable_balance
    from daozhang.settlement.models import Adjustment

    c = login(staff("finance"))
    url = reverse("console:adjustment_new", args=[merchant_kit.merchant.id])
    token = re.search(r'name="form_token" value="([0-9a-f]{32})"', c.get(url).content.decode()).group(1)
    before = merchant_payable_balance(merchant_kit.merchant.id)
    data = {"amount": "-19", "reason": "流量费 SIM fee", "form_token": token}
    first, again = c.post(url, data), c.post(url, data)  # a double click
    assert first.status_code == again.status_code == 302 and first["Location"] == again["Location"]
    assert Adjustment.objects.filter(merchant=merchant_kit.merchant).count() == 1
    assert merchant_payable_balance(merchant_kit.merchant.id) == before - 1900
