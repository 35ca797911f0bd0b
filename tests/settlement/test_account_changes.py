"""Issue 11, item 2: a till's API key redirected the merchant's payouts.

`POST /settlement-account/changes` with a merchant key set a personal account in another
person's name; bank verification passed and the next payout would have gone there. No
check of holder against legal name, no out-of-band confirmation, no second approver.
Each test below is that attack, or one of the ways around the fix, and what refuses it.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from daozhang.approvals import services as approvals
from daozhang.approvals.models import ApprovalRequest, ApprovalStatus
from daozhang.audit.models import AuditEvent
from daozhang.core import clock as core_clock
from daozhang.core.errors import DomainError
from daozhang.core.models import OutboxEvent
from daozhang.merchants import services as merchants
from daozhang.merchants.models import AccountStage, SettlementAccount
from daozhang.notifications.models import Notification, SandboxMessage
from daozhang.settlement import accounts
from daozhang.settlement.tasks import verify_pending_accounts
from tests.account_helpers import owner_of, reviewer
from tests.conftest import DEBIT_CARD, valid_uscc
from tests.portal_helpers import logged_in, portal_user

STRANGER_CARD = {"holder_name": "王五", "account_number": DEBIT_CARD, "bank_name": "中国工商银行",
                 "account_type": "personal"}


@pytest.fixture
def individual(make_merchant):
    """An individual business paid to its operator's personal card, with an owner login."""
    n = 7000 + len(SettlementAccount.objects.all())
    kit = make_merchant(uscc=valid_uscc(100000 + n, entity="92"), legal_name="张三烧烤店",
                        bank_account=merchants.BankAccountInput(
        holder_name="张三", account_number="6222021234567890128", bank_name="中国建设银行", account_type="personal"))
    portal_user(kit.merchant.id, "bbq-owner")
    return kit


def _snapshot() -> tuple[int, ...]:
    return (SettlementAccount.objects.count(), AuditEvent.objects.count(), ApprovalRequest.objects.count(),
            OutboxEvent.objects.count(), SandboxMessage.objects.count())


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_a_till_key_cannot_change_the_settlement_account(merchant_kit, lang):
    """The attack as found: 403 for any body (well-formed, malformed, empty), nothing written."""
    before = _snapshot()
    for body in (STRANGER_CARD, {"holder_name": "x\u202e"}, {}):
        r = merchant_kit.post("/api/v1/settlement-account/changes", body, HTTP_ACCEPT_LANGUAGE=lang)
        assert r.status_code == 403, r.content
        err = r.json()["error"]
        assert err["code"] == "account_change_needs_owner" and err["field"] == "authorization"
        assert ("API key" in err["message"] and "portal" in err["message"]) if lang == "en" else \
            ("API 密钥" in err["message"] and "门户" in err["message"])
    assert _snapshot() == before
    assert SettlementAccount.objects.get(merchant=merchant_kit.merchant).is_current


def _ask(kit, user_id=None, **data):
    owner = owner_of(kit.merchant) if user_id is None else None
    return accounts.request_account_change(
        merchant_id=kit.merchant.id, data=merchants.BankAccountInput(**data),
        user_id=owner.user_id if owner else user_id, actor="merchant-user:test")


def test_only_an_owner_login_reaches_the_service(merchant_kit, make_merchant):
    """Refused in the service, not only hidden in the page: a cashier's login, another
    merchant's owner, or no login at all."""
    cashier = merchants.create_merchant_user(merchant_id=merchant_kit.merchant.id, username="till-cashier",
                                             password="cashier-pw-2026-long", role="cashier", actor="test")
    other_owner = owner_of(make_merchant().merchant)
    before = _snapshot()
    for user_id in (cashier.user_id, other_owner.user_id, None):
        with pytest.raises(DomainError) as e:
            accounts.request_account_change(merchant_id=merchant_kit.merchant.id,
                                            data=merchants.BankAccountInput(**STRANGER_CARD),
                                            user_id=user_id, actor="x")
        assert (e.value.code, e.value.status) == ("owner_only", 403)
    assert _snapshot() == before


def test_a_company_is_paid_only_into_an_account_in_its_legal_name(merchant_kit):
    owner_of(merchant_kit.merchant)
    before = _snapshot()
    with pytest.raises(DomainError) as e:
        _ask(merchant_kit, holder_name="王五", account_number="31001234567890999", bank_name="中国银行",
             account_type="corporate")
    assert (e.value.code, e.value.field) == ("holder_not_legal_name", "holder_name")
    assert merchant_kit.merchant.legal_name in e.value.message("zh-hans")
    with pytest.raises(DomainError) as e:  # a personal card of someone else, for a company: the same refusal
        _ask(merchant_kit, **STRANGER_CARD)
    assert e.value.code == "holder_not_legal_name"
    assert _snapshot()[:3] == before[:3]  # nothing written
    # Full-width brackets and spaces are the same name to a bank.
    sent = _ask(merchant_kit, holder_name=f" {merchant_kit.merchant.legal_name} ", account_number="31001234567890999",
                bank_name="中国银行", account_type="corporate")
    assert sent.account.stage == AccountStage.AWAITING_CODE and sent.account.review_reasons == []


def test_the_code_is_hashed_and_nowhere_in_clear(merchant_kit, deliver_outbox):
    sent = _ask(merchant_kit, holder_name=merchant_kit.merchant.legal_name, account_number="31001234567890999",
                bank_name="中国银行", account_type="corporate")
    assert re.fullmatch(r"[0-9]{6}", sent.code) and sent.channel == "sms"
    assert sent.recipient == merchant_kit.merchant.contact_phone
    row = SettlementAccount.objects.get(id=sent.account.id)
    assert row.code_hash and sent.code not in row.code_hash and len(row.code_hash) == 64
    deliver_outbox()
    assert not any(sent.code in str(e.data) for e in OutboxEvent.objects.all())
    assert not any(sent.code in f"{a.before} {a.after}" for a in AuditEvent.objects.all())
    assert not any(sent.code in n.body_zh + n.body_en for n in Notification.objects.all())
    # The registered contact hears that a change was asked for (if it was not them, they call).
    told = SandboxMessage.objects.filter(recipient=merchant_kit.merchant.contact_phone, body__contains="变更")
    assert told.exists() and sent.account.masked_number in told.first().body


def test_a_wrong_code_counts_and_too_many_cancel_the_change(merchant_kit, settings):
    settings.ACCOUNT_CHANGE_CODE_ATTEMPTS = 3
    owner = owner_of(merchant_kit.merchant)
    sent = _ask(merchant_kit, holder_name=merchant_kit.merchant.legal_name, account_number="31001234567890999",
                bank_name="中国银行", account_type="corporate")
    wrong = f"{(int(sent.code) + 1) % 10**6:06d}"

    def confirm(code: str) -> DomainError:
        with pytest.raises(DomainError) as e:
            accounts.confirm_account_change(merchant_id=merchant_kit.merchant.id, code=code, user_id=owner.user_id,
                                            actor="merchant-user:test")
        return e.value

    first, second = confirm(wrong), confirm(wrong)
    assert (first.code, first.params["left"], second.params["left"]) == ("code_wrong", 2, 1)
    assert "1" in second.message("en") and "还可尝试 1 次" in second.message("zh-hans")
    row = SettlementAccount.objects.get(id=sent.account.id)
    assert row.code_attempts == 2 and row.stage == AccountStage.AWAITING_CODE
    assert confirm("abc").code == "code_attempts_exceeded"  # the third wrong try (any text counts)
    row.refresh_from_db()
    assert row.stage == AccountStage.REJECTED and row.rejected_at and "too many" in row.rejection_reason
    assert row.code_hash == ""
    # The right code is worth nothing now; the change is over, payouts no longer wait for it.
    assert confirm(sent.code).code == "no_code_pending"
    assert not accounts.pending_accounts().filter(merchant=merchant_kit.merchant).exists()
    assert AuditEvent.objects.filter(object_id=str(row.id), action="settlement_account.code_failed").count() == 3


def test_an_expired_code_cancels_the_change(merchant_kit, monkeypatch, settings):
    owner = owner_of(merchant_kit.merchant)
    t0 = core_clock.now()
    sent = _ask(merchant_kit, holder_name=merchant_kit.merchant.legal_name, account_number="31001234567890999",
                bank_name="中国银行", account_type="corporate")
    later = t0 + dt.timedelta(seconds=settings.ACCOUNT_CHANGE_CODE_SECONDS + 1)
    monkeypatch.setattr(core_clock, "now", lambda: later)
    with pytest.raises(DomainError) as e:
        accounts.confirm_account_change(merchant_id=merchant_kit.merchant.id, code=sent.code, user_id=owner.user_id,
                                        actor="merchant-user:test")
    assert e.value.code == "code_expired"
    row = SettlementAccount.objects.get(id=sent.account.id)
    assert row.stage == AccountStage.REJECTED and "expired" in row.rejection_reason and row.verified_at is None


def test_an_abandoned_change_is_swept_so_payouts_do_not_wait_for_ever(merchant_kit, monkeypatch, settings):
    sent = _ask(merchant_kit, holder_name=merchant_kit.merchant.legal_name, account_number="31001234567890999",
                bank_name="中国银行", account_type="corporate")
    assert accounts.expire_unconfirmed() == 0
    later = core_clock.now() + dt.timedelta(seconds=settings.ACCOUNT_CHANGE_CODE_SECONDS + 1)
    assert accounts.expire_unconfirmed(now=later) == 1
    assert SettlementAccount.objects.get(id=sent.account.id).stage == AccountStage.REJECTED


def test_a_switch_to_a_personal_card_waits_for_a_second_staff_member_not_the_maker(individual, deliver_outbox):
    kit = individual
    owner_user = get_user_model().objects.get(username="bbq-owner")
    sent = accounts.request_account_change(
        merchant_id=kit.merchant.id, user_id=owner_user.pk, actor="merchant-user:bbq-owner",
        data=merchants.BankAccountInput(holder_name="李四", account_number=DEBIT_CARD, bank_name="中国工商银行",
                                        account_type="personal"))
    assert sent.account.review_reasons == ["new_holder"]
    acct = accounts.confirm_account_change(merchant_id=kit.merchant.id, code=sent.code, user_id=owner_user.pk,
                                           actor="merchant-user:bbq-owner")
    assert acct.stage == AccountStage.AWAITING_REVIEW
    req = ApprovalRequest.objects.get(id=acct.approval_id)
    assert req.status == ApprovalStatus.PENDING and "李四" in req.summary_zh and req.maker_user_id == owner_user.pk
    # The bank is not even asked while it waits; nothing is current but the old account.
    assert verify_pending_accounts.call() == 0
    assert SettlementAccount.objects.get(merchant=kit.merchant, is_current=True).holder_name == "张三"

    # The maker cannot approve it, even with staff rights and the permission.
    owner_user.is_staff = True
    owner_user.save()
    owner_user.user_permissions.add(Permission.objects.get(codename="approve_account_change"))
    owner_user = get_user_model().objects.get(pk=owner_user.pk)
    with pytest.raises(DomainError) as e:
        approvals.approve(request_id=req.id, user=owner_user, actor="staff:bbq-owner")
    assert (e.value.code, e.value.status) == ("maker_cannot_approve", 403)
    # Staff without the kind's permission (customer service) cannot either.
    cs = get_user_model().objects.create_user("cs-1", password="cs-pw-2026-long-enough", is_staff=True)
    from django.contrib.auth.models import Group

    cs.groups.add(Group.objects.get(name="客服"))
    with pytest.raises(DomainError) as e:
        approvals.approve(request_id=req.id, user=get_user_model().objects.get(pk=cs.pk), actor="staff:cs-1")
    assert e.value.code == "forbidden"
    acct.refresh_from_db()
    assert acct.stage == AccountStage.AWAITING_REVIEW

    risk = reviewer()
    approvals.approve(request_id=req.id, user=risk, actor="staff:risk-reviewer", reason="called the owner back")
    acct.refresh_from_db()
    assert acct.stage == AccountStage.VERIFYING and acct.verified_at is None and not acct.is_current
    assert verify_pending_accounts.call() == 1
    acct.refresh_from_db()
    assert acct.is_current and acct.verified_at is not None and acct.stage == AccountStage.VERIFIED
    steps = [s.key for s in accounts.change_timeline(acct)]
    assert steps == ["requested", "code_confirmed", "review_requested", "review_approved", "verified"]
    deliver_outbox()
    assert SandboxMessage.objects.filter(body__contains="已验证通过").exists()  # told when it takes effect


def test_a_rejected_review_ends_the_change_and_tells_the_merchant(individual, deliver_outbox):
    owner_user = get_user_model().objects.get(username="bbq-owner")
    sent = accounts.request_account_change(
        merchant_id=individual.merchant.id, user_id=owner_user.pk, actor="merchant-user:bbq-owner",
        data=merchants.BankAccountInput(holder_name="李四", account_number=DEBIT_CARD, bank_name="中国工商银行",
                                        account_type="personal"))
    acct = accounts.confirm_account_change(merchant_id=individual.merchant.id, code=sent.code,
                                           user_id=owner_user.pk, actor="merchant-user:bbq-owner")
    with pytest.raises(DomainError) as e:
        approvals.reject(request_id=acct.approval_id, user=reviewer(), actor="staff:risk-reviewer", reason="  ")
    assert (e.value.code, e.value.field) == ("required", "reason")
    approvals.reject(request_id=acct.approval_id, user=reviewer(), actor="staff:risk-reviewer",
                     reason="owner did not answer the call-back")
    acct.refresh_from_db()
    assert acct.stage == AccountStage.REJECTED and "call-back" in acct.rejection_reason
    assert [s.key for s in accounts.change_timeline(acct)][-1] == "rejected"
    deliver_outbox()
    assert SandboxMessage.objects.filter(body__contains="call-back").exists()


def test_an_unreviewed_change_expires_with_its_approval(individual, settings):
    owner_user = get_user_model().objects.get(username="bbq-owner")
    sent = accounts.request_account_change(
        merchant_id=individual.merchant.id, user_id=owner_user.pk, actor="merchant-user:bbq-owner",
        data=merchants.BankAccountInput(holder_name="李四", account_number=DEBIT_CARD, bank_name="中国工商银行",
                                        account_type="personal"))
    acct = accounts.confirm_account_change(merchant_id=individual.merchant.id, code=sent.code,
                                           user_id=owner_user.pk, actor="merchant-user:bbq-owner")
    later = core_clock.now() + dt.timedelta(hours=settings.APPROVAL_TTL_HOURS, seconds=1)
    assert approvals.expire_due(now=later) == 1
    acct.refresh_from_db()
    assert acct.stage == AccountStage.REJECTED and ApprovalRequest.objects.get(id=acct.approval_id).status == "expired"


def test_a_newer_change_replaces_one_waiting_for_review(individual):
    owner_user = get_user_model().objects.get(username="bbq-owner")

    def ask_and_confirm(holder: str) -> SettlementAccount:
        sent = accounts.request_account_change(
            merchant_id=individual.merchant.id, user_id=owner_user.pk, actor="merchant-user:bbq-owner",
            data=merchants.BankAccountInput(holder_name=holder, account_number=DEBIT_CARD, bank_name="工行",
                                            account_type="personal"))
        return accounts.confirm_account_change(merchant_id=individual.merchant.id, code=sent.code,
                                               user_id=owner_user.pk, actor="merchant-user:bbq-owner")

    first = ask_and_confirm("李四")
    ask_and_confirm("赵六")
    first.refresh_from_db()
    assert first.stage == AccountStage.REJECTED
    assert ApprovalRequest.objects.get(id=first.approval_id).status == ApprovalStatus.CANCELLED
    with pytest.raises(DomainError) as e:  # approving the replaced one does nothing
        approvals.approve(request_id=first.approval_id, user=reviewer(), actor="staff:risk-reviewer")
    assert e.value.code == "approval_decided"


def test_requests_per_day_are_limited(merchant_kit, settings):
    settings.ACCOUNT_CHANGES_PER_DAY = 2
    data = {"holder_name": merchant_kit.merchant.legal_name, "account_number": "31001234567890999",
            "bank_name": "中国银行", "account_type": "corporate"}
    _ask(merchant_kit, **data)
    _ask(merchant_kit, **data)
    with pytest.raises(DomainError) as e:
        _ask(merchant_kit, **data)
    assert (e.value.code, e.value.status) == ("too_many_account_changes", 429)


# ------------------------------------------------------------------ the portal, end to end


def test_the_owner_changes_the_account_in_the_portal_with_the_code_from_the_sms(individual, deliver_outbox):
    c = logged_in("bbq-owner")
    page = c.get("/portal/me/settlement-account/")
    assert page["Cache-Control"] == "no-store"
    token = re.search(r'name="form_token" value="([0-9a-f]{32})"', page.content.decode()).group(1)
    r = c.post("/portal/me/settlement-account/change/", {
        "holder_name": "张三", "account_number": DEBIT_CARD, "bank_name": "中国工商银行", "account_type": "personal",
        "form_token": token})
    assert r.status_code == 302
    again = c.post("/portal/me/settlement-account/change/", {  # a double submit sends no second code
        "holder_name": "张三", "account_number": DEBIT_CARD, "bank_name": "中国工商银行", "account_type": "personal",
        "form_token": token})
    assert again.status_code == 302
    sms = SandboxMessage.objects.filter(recipient=individual.merchant.contact_phone, body__contains="验证码")
    assert sms.count() == 1
    code = re.search(r"验证码：(\d{6})", sms.get().body).group(1)
    page = c.get("/portal/me/settlement-account/").content.decode()
    assert 'id="code-form"' in page and 'data-step="awaiting_code"' in page and code not in page

    bad = c.post("/portal/me/settlement-account/confirm/", {"code": "000000" if code != "000000" else "111111"})
    assert bad.status_code == 400 and 'id="err-code"' in bad.content.decode()
    ok = c.post("/portal/me/settlement-account/confirm/", {"code": code})
    assert ok.status_code == 302
    # Same holder, personal to personal: no staff review needed, straight to the bank.
    acct = SettlementAccount.objects.get(merchant=individual.merchant, is_current=False, rejected_at__isnull=True)
    assert acct.stage == AccountStage.VERIFYING
    verify_pending_accounts.call()
    page = c.get("/portal/me/settlement-account/").content.decode()
    assert acct.masked_number in page.split('id="current-account"')[1].split("</p>")[0]
    steps = re.findall(r'data-step="(\w+)"', page)
    assert steps == ["requested", "code_failed", "code_confirmed", "verified"]
    log = Notification.objects.get(kind="account_change_code")
    assert code not in log.body_zh and "••••••" in log.body_zh  # the console's delivery log shows no code


def test_a_cashier_cannot_confirm_a_code_either(individual):
    portal_user(individual.merchant.id, "bbq-cashier", role="cashier")
    c = logged_in("bbq-cashier")
    assert c.post("/portal/me/settlement-account/confirm/", {"code": "123456"}).status_code == 403
