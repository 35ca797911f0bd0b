"""Re-sending a request never moves money twice: Idempotency-Key on every change."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from daozhang.access.models import ApiKey
from daozhang.access.services import issue_staff_token
from daozhang.audit.models import AuditEvent
from daozhang.core.models import IdempotencyRecord
from daozhang.ledger.models import Entry, Posting
from daozhang.ledger.selectors import check_ledger, merchant_payable_balance
from daozhang.merchants.models import Merchant
from daozhang.payments.models import Payment, PaymentEvent, Reversal
from daozhang.terminals.models import Terminal
from tests.conftest import CREDIT_CARD, DEBIT_CARD, MerchantKit, valid_uscc

SALE = "/api/v1/payments/sale"
REVERSAL = "/api/v1/payments/reversal"


def assert_error(resp: Any, status: int, code: str, field: str | None) -> dict[str, Any]:
    assert resp.status_code == status, resp.content
    assert b"Traceback" not in resp.content
    err = resp.json()["error"]
    assert (err["code"], err["field"]) == (code, field), err
    return err


def sale_body(kit: MerchantKit, stan: str = "100001", amount: int = 10000, **extra: Any) -> dict[str, Any]:
    return {"terminal_id": kit.terminal.terminal_id, "stan": stan, "amount": amount, "channel": "card",
            "entry_mode": "chip", "card_number": DEBIT_CARD, **extra}


def money_state(kit: MerchantKit) -> tuple[int, int, int, int]:
    return (Payment.objects.count(), Entry.objects.count(), Posting.objects.count(),
            merchant_payable_balance(kit.merchant.id))


def entries_for(payment_id: str) -> list[str]:
    """The kinds of ledger entry booked for a payment, without the "payment." prefix."""
    kinds = Entry.objects.filter(business_ref=f"payment:{payment_id}").values_list("kind", flat=True)
    return sorted(k.removeprefix("payment.") for k in kinds)


# ---------------------------------------------------------------- the key is required


@pytest.mark.parametrize("key", [None, "", "   ", "k" * 121], ids=["absent", "empty", "blank", "too-long"])
def test_sale_without_a_usable_idempotency_key_is_refused(merchant_kit, key):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    r = merchant_kit.client.post(SALE, data=json.dumps(sale_body(merchant_kit)), content_type="application/json",
                                 **headers)
    err = assert_error(r, 400, "idempotency_key_missing", "Idempotency-Key")
    assert "Idempotency-Key" in err["message"]
    assert Payment.objects.count() == 0 and Entry.objects.count() == 0 and IdempotencyRecord.objects.count() == 0


def test_a_key_of_120_characters_is_accepted(merchant_kit):
    r = merchant_kit.post(SALE, sale_body(merchant_kit), key="k" * 120)
    assert r.status_code == 201, r.content


def test_every_change_needs_a_key(merchant_kit):
    sale = merchant_kit.sale(10000).json()
    tid = merchant_kit.terminal.terminal_id
    before = money_state(merchant_kit), Reversal.objects.count()
    for path, body in [(f"/api/v1/payments/{sale['id']}/void", {"terminal_id": tid}),
                       (REVERSAL, {"terminal_id": tid, "original_stan": sale["stan"]})]:
        assert_error(merchant_kit.post(path, body, key=""), 400, "idempotency_key_missing", "Idempotency-Key")
    assert (money_state(merchant_kit), Reversal.objects.count()) == before
    assert Payment.objects.get(id=sale["id"]).status == "approved"


def test_every_staff_change_needs_a_key(staff, merchant_kit):
    mid, tpk = merchant_kit.merchant.id, merchant_kit.terminal.id
    spare = Terminal.objects.create(serial_number="SN-IDEM-SPARE", terminal_id="IDEMSPAR")
    before = (Merchant.objects.count(), Terminal.objects.count(), ApiKey.objects.count(), AuditEvent.objects.count(),
              get_user_model().objects.count())
    for path, body in [
        ("/api/v1/staff/merchants", onboard_body(730009)),
        (f"/api/v1/staff/merchants/{mid}/status", {"status": "suspended", "reason": "x"}),
        (f"/api/v1/staff/merchants/{mid}/api-keys", {"name": "x"}),
        ("/api/v1/staff/terminals", {"serial_number": "SN-IDEM-0", "terminal_id": "IDEMT000"}),
        (f"/api/v1/staff/terminals/{tpk}/status", {"status": "suspended"}),
        (f"/api/v1/staff/terminals/{spare.id}/bind", {"merchant_id": str(mid)}),
        (f"/api/v1/staff/merchants/{mid}/users", {"username": "idem-owner", "password": "Qz7!portal-Pw-2718"}),
    ]:
        r = staff.post(path, data=json.dumps(body), content_type="application/json")
        assert_error(r, 400, "idempotency_key_missing", "Idempotency-Key")
    after = (Merchant.objects.count(), Terminal.objects.count(), ApiKey.objects.count(), AuditEvent.objects.count(),
             get_user_model().objects.count())
    assert after == before
    assert Terminal.objects.get(id=spare.id).merchant_id is None
    assert Terminal.objects.get(id=tpk).status == "active"


# ------------------------------------------------------------------------- sales


@pytest.mark.parametrize(("amount", "status"), [(10000, "approved"), (10051, "declined"), (10096, "failed"),
                                                (10098, "unknown")])
def test_same_key_same_body_replays_the_first_answer(merchant_kit, amount, status):
    body = sale_body(merchant_kit, amount=amount)
    first = merchant_kit.post(SALE, body, key="sale-1")
    assert first.status_code == 201 and first.json()["status"] == status, first.content
    state = money_state(merchant_kit)
    for _ in range(3):
        again = merchant_kit.post(SALE, body, key="sale-1")
        assert again.status_code == 201
        assert again.json() == first.json()
    assert money_state(merchant_kit) == state
    assert Payment.objects.count() == 1
    assert PaymentEvent.objects.count() == 0
    assert check_ledger().ok


def test_replay_of_an_approved_sale_books_it_once(merchant_kit):
    body = sale_body(merchant_kit, amount=500000)
    first = merchant_kit.post(SALE, body, key="big").json()
    merchant_kit.post(SALE, body, key="big")
    assert entries_for(first["id"]) == ["sale"]
    assert merchant_payable_balance(merchant_kit.merchant.id) == first["net"]


@pytest.mark.parametrize("change", [
    {"amount": 10001}, {"stan": "100002"}, {"card_number": CREDIT_CARD}, {"entry_mode": "contactless"},
    {"channel": "wechat", "entry_mode": "qr", "card_number": None, "wallet_auth_code": "134567890123456789"},
], ids=["amount", "stan", "card", "entry-mode", "channel"])
def test_same_key_different_body_is_refused(merchant_kit, change):
    first = merchant_kit.post(SALE, sale_body(merchant_kit), key="sale-2")
    assert first.status_code == 201
    state = money_state(merchant_kit)
    other = {**sale_body(merchant_kit), **change}
    other = {k: v for k, v in other.items() if v is not None}
    err = assert_error(merchant_kit.post(SALE, other, key="sale-2"), 422, "idempotency_key_reused",
                       "Idempotency-Key")
    assert "Idempotency-Key" in err["message"]
    assert money_state(merchant_kit) == state
    # The original answer is still what the key replays.
    assert merchant_kit.post(SALE, sale_body(merchant_kit), key="sale-2").json() == first.json()


def test_same_key_on_another_endpoint_is_refused(merchant_kit):
    sale = merchant_kit.post(SALE, sale_body(merchant_kit), key="shared").json()
    state = money_state(merchant_kit), Reversal.objects.count()
    r = merchant_kit.post(REVERSAL, {"terminal_id": merchant_kit.terminal.terminal_id,
                                     "original_stan": sale["stan"]}, key="shared")
    assert_error(r, 422, "idempotency_key_reused", "Idempotency-Key")
    r = merchant_kit.post(f"/api/v1/payments/{sale['id']}/void", {"terminal_id": merchant_kit.terminal.terminal_id},
                          key="shared")
    assert_error(r, 422, "idempotency_key_reused", "Idempotency-Key")
    assert (money_state(merchant_kit), Reversal.objects.count()) == state
    assert Payment.objects.get(id=sale["id"]).status == "approved"


def test_keys_are_scoped_per_merchant(make_merchant):
    a, b = make_merchant(), make_merchant()
    ra = a.post(SALE, sale_body(a, amount=1000), key="same-key")
    rb = b.post(SALE, sale_body(b, amount=2000), key="same-key")
    assert ra.status_code == rb.status_code == 201
    assert ra.json()["id"] != rb.json()["id"]
    assert ra.json()["amount"] == 1000 and rb.json()["amount"] == 2000
    assert merchant_payable_balance(a.merchant.id) == ra.json()["net"]
    assert merchant_payable_balance(b.merchant.id) == rb.json()["net"]


def test_a_failed_request_does_not_use_up_its_key(merchant_kit):
    """Errors are not stored: after a refused call, the corrected call may reuse the key."""
    bad = merchant_kit.post(SALE, sale_body(merchant_kit, terminal_id="NOPE0000"), key="retry-me")
    assert_error(bad, 404, "unknown_terminal", "terminal_id")
    bad = merchant_kit.post(SALE, sale_body(merchant_kit, amount=0), key="retry-me")
    assert_error(bad, 400, "not_positive", "amount")
    good = merchant_kit.post(SALE, sale_body(merchant_kit), key="retry-me")
    assert good.status_code == 201
    assert Payment.objects.count() == 1


def test_same_key_different_wallet_code_is_refused(merchant_kit):
    body = sale_body(merchant_kit, channel="wechat", entry_mode="qr", wallet_auth_code="134567890123456789")
    body.pop("card_number")
    assert merchant_kit.post(SALE, body, key="qr").status_code == 201
    other = {**body, "wallet_auth_code": "134567890123450000"}
    assert_error(merchant_kit.post(SALE, other, key="qr"), 422, "idempotency_key_reused", "Idempotency-Key")
    assert Payment.objects.count() == 1


# -------------------------------------------------------------------------- voids


def test_void_twice_with_different_keys_moves_money_once(merchant_kit):
    sale = merchant_kit.sale(10000).json()
    path = f"/api/v1/payments/{sale['id']}/void"
    body = {"terminal_id": merchant_kit.terminal.terminal_id}
    first = merchant_kit.post(path, body, key="void-1")
    assert first.status_code == 200 and first.json()["status"] == "voided"
    state = money_state(merchant_kit)
    second = merchant_kit.post(path, body, key="void-2")
    assert second.status_code == 200, second.content
    assert second.json()["status"] == "voided" and second.json()["id"] == sale["id"]
    assert money_state(merchant_kit) == state
    assert entries_for(sale["id"]) == ["sale", "void"]
    assert PaymentEvent.objects.filter(payment_id=sale["id"], kind="voided").count() == 1
    assert merchant_payable_balance(merchant_kit.merchant.id) == 0
    assert check_ledger().ok


def test_void_replay_with_the_same_key(merchant_kit):
    sale = merchant_kit.sale(10000).json()
    path = f"/api/v1/payments/{sale['id']}/void"
    body = {"terminal_id": merchant_kit.terminal.terminal_id}
    first = merchant_kit.post(path, body, key="void-same")
    again = merchant_kit.post(path, body, key="void-same")
    assert again.status_code == 200 and again.json() == first.json()
    assert entries_for(sale["id"]) == ["sale", "void"]


def test_void_key_reused_for_another_payment_is_refused(merchant_kit):
    one, two = merchant_kit.sale(10000).json(), merchant_kit.sale(20000).json()
    body = {"terminal_id": merchant_kit.terminal.terminal_id}
    assert merchant_kit.post(f"/api/v1/payments/{one['id']}/void", body, key="v").status_code == 200
    r = merchant_kit.post(f"/api/v1/payments/{two['id']}/void", body, key="v")
    assert_error(r, 422, "idempotency_key_reused", "Idempotency-Key")
    assert Payment.objects.get(id=two["id"]).status == "approved"


# ---------------------------------------------------------------------- reversals


def reverse(kit: MerchantKit, stan: str, key: str, **extra: Any) -> Any:
    return kit.post(REVERSAL, {"terminal_id": kit.terminal.terminal_id, "original_stan": stan, **extra}, key=key)


def test_reversal_replay_returns_the_same_record_and_moves_money_once(merchant_kit):
    sale = merchant_kit.sale(10000).json()
    first = reverse(merchant_kit, sale["stan"], "rev-1")
    assert first.status_code == 200 and first.json()["outcome"] == "reversed"
    assert first.json()["payment_id"] == sale["id"]
    state = money_state(merchant_kit)
    again = reverse(merchant_kit, sale["stan"], "rev-1")
    assert again.status_code == 200 and again.json() == first.json()
    assert money_state(merchant_kit) == state
    assert Reversal.objects.count() == 1
    assert entries_for(sale["id"]) == ["reversal", "sale"]
    assert merchant_payable_balance(merchant_kit.merchant.id) == 0


def test_reversal_resent_with_a_new_key_is_already_undone(merchant_kit):
    sale = merchant_kit.sale(10000).json()
    assert reverse(merchant_kit, sale["stan"], "rev-a").json()["outcome"] == "reversed"
    state = money_state(merchant_kit)
    again = reverse(merchant_kit, sale["stan"], "rev-b")
    assert again.status_code == 200 and again.json()["outcome"] == "already_undone"
    assert money_state(merchant_kit) == state
    assert entries_for(sale["id"]) == ["reversal", "sale"]


def test_reversal_of_an_unknown_stan_is_acknowledged_and_recorded(merchant_kit):
    state = money_state(merchant_kit)
    first = reverse(merchant_kit, "987654", "orphan", amount=4200)
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["outcome"] == "unknown_original" and body["payment_id"] is None
    assert body["original_stan"] == "987654" and body["response_code"] == "00"
    rec = Reversal.objects.get(id=body["id"])
    assert rec.payment_id is None and rec.amount == 4200 and rec.terminal_id == merchant_kit.terminal.id
    again = reverse(merchant_kit, "987654", "orphan", amount=4200)
    assert again.status_code == 200 and again.json() == body
    assert Reversal.objects.count() == 1
    assert money_state(merchant_kit) == state


def test_reversal_of_a_declined_sale_has_nothing_to_undo(merchant_kit):
    sale = merchant_kit.sale(10051).json()
    assert sale["status"] == "declined"
    state = money_state(merchant_kit)
    r = reverse(merchant_kit, sale["stan"], "rev-declined")
    assert r.status_code == 200 and r.json()["outcome"] == "nothing_to_undo"
    assert r.json()["payment_id"] == sale["id"]
    assert money_state(merchant_kit) == state
    assert Payment.objects.get(id=sale["id"]).status == "declined"
    assert entries_for(sale["id"]) == []


def test_reversal_of_a_failed_sale_has_nothing_to_undo(merchant_kit):
    sale = merchant_kit.sale(10096).json()
    assert sale["status"] == "failed"
    r = reverse(merchant_kit, sale["stan"], "rev-failed")
    assert r.json()["outcome"] == "nothing_to_undo"
    assert entries_for(sale["id"]) == []


@pytest.mark.parametrize("amount", [10098, 10097])
def test_reversal_of_an_unknown_card_sale_reverses_it_without_a_ledger_entry(merchant_kit, amount):
    sale = merchant_kit.sale(amount).json()
    assert sale["status"] == "unknown"
    state = money_state(merchant_kit)
    r = reverse(merchant_kit, sale["stan"], "rev-unknown")
    assert r.status_code == 200 and r.json()["outcome"] == "reversed"
    assert Payment.objects.get(id=sale["id"]).status == "reversed"
    assert money_state(merchant_kit) == state  # nothing was booked, so nothing is unbooked
    assert entries_for(sale["id"]) == []
    assert reverse(merchant_kit, sale["stan"], "rev-unknown").json() == r.json()
    assert check_ledger().ok


def test_reversal_of_a_voided_sale_is_already_undone(merchant_kit):
    sale = merchant_kit.sale(10000).json()
    merchant_kit.post(f"/api/v1/payments/{sale['id']}/void", {"terminal_id": merchant_kit.terminal.terminal_id})
    state = money_state(merchant_kit)
    r = reverse(merchant_kit, sale["stan"], "rev-voided")
    assert r.json()["outcome"] == "already_undone"
    assert money_state(merchant_kit) == state
    assert entries_for(sale["id"]) == ["sale", "void"]


def test_reversal_same_key_different_stan_is_refused(merchant_kit):
    sale = merchant_kit.sale(10000).json()
    assert reverse(merchant_kit, sale["stan"], "rev-k").status_code == 200
    assert_error(reverse(merchant_kit, "000999", "rev-k"), 422, "idempotency_key_reused", "Idempotency-Key")
    assert Reversal.objects.count() == 1


# ------------------------------------------------------------------------- staff


@pytest.fixture
def staff(db: None) -> Client:
    user = get_user_model().objects.create_superuser("idem-boss", "b@example.com", None)
    _, raw = issue_staff_token(user=user, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")


def onboard_body(n: int, **overrides: Any) -> dict[str, Any]:
    return {
        "legal_name": f"幂等测试商户{n}有限公司", "short_name": f"幂等{n}", "uscc": valid_uscc(n), "mcc": "5812",
        "region_code": "2900", "contact_name": "赵六", "contact_phone": "13612345678",
        "bank_account": {"holder_name": f"幂等测试商户{n}有限公司", "account_number": "31001234567890123",
                         "bank_name": "中国银行", "account_type": "corporate"},
        **overrides,
    }


def staff_post(client: Client, path: str, body: dict[str, Any], key: str) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def test_onboarding_replay_returns_the_same_merchant_not_a_duplicate(staff):
    body = onboard_body(730001)
    first = staff_post(staff, "/api/v1/staff/merchants", body, "onboard-1")
    assert first.status_code == 201, first.content
    counts = (Merchant.objects.count(), AuditEvent.objects.count())
    again = staff_post(staff, "/api/v1/staff/merchants", body, "onboard-1")
    assert again.status_code == 201 and again.json() == first.json()
    assert (Merchant.objects.count(), AuditEvent.objects.count()) == counts
    assert Merchant.objects.filter(uscc=body["uscc"]).count() == 1
    # The same merchant under a new key is a duplicate, not a second merchant.
    assert_error(staff_post(staff, "/api/v1/staff/merchants", body, "onboard-2"), 400, "duplicate", "uscc")
    # The first key with another body is refused.
    other = onboard_body(730002)
    assert_error(staff_post(staff, "/api/v1/staff/merchants", other, "onboard-1"), 422, "idempotency_key_reused",
                 "Idempotency-Key")
    assert not Merchant.objects.filter(uscc=other["uscc"]).exists()


def test_staff_keys_are_scoped_per_staff_user(staff):
    other_user = get_user_model().objects.create_superuser("idem-boss-2", "c@example.com", None)
    _, raw = issue_staff_token(user=other_user, name="t")
    other = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    a = staff_post(staff, "/api/v1/staff/merchants", onboard_body(730003), "same")
    b = staff_post(other, "/api/v1/staff/merchants", onboard_body(730004), "same")
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


def test_merchant_status_replay_is_audited_once(staff, merchant_kit):
    path = f"/api/v1/staff/merchants/{merchant_kit.merchant.id}/status"
    body = {"status": "suspended", "reason": "risk review"}
    first = staff_post(staff, path, body, "suspend-1")
    assert first.status_code == 200 and first.json()["status"] == "suspended"
    again = staff_post(staff, path, body, "suspend-1")
    assert again.status_code == 200 and again.json() == first.json()
    assert AuditEvent.objects.filter(action="merchant.status", object_id=str(merchant_kit.merchant.id)).count() == 1


def test_terminal_registration_and_status_replays(staff, merchant_kit):
    reg = {"serial_number": "SN-IDEM-1", "terminal_id": "IDEMT001"}
    first = staff_post(staff, "/api/v1/staff/terminals", reg, "reg-1")
    assert first.status_code == 201
    assert staff_post(staff, "/api/v1/staff/terminals", reg, "reg-1").json() == first.json()
    assert Terminal.objects.filter(terminal_id="IDEMT001").count() == 1
    path = f"/api/v1/staff/terminals/{merchant_kit.terminal.id}/status"
    s1 = staff_post(staff, path, {"status": "suspended"}, "t-status")
    assert staff_post(staff, path, {"status": "suspended"}, "t-status").json() == s1.json()
    assert AuditEvent.objects.filter(action="terminal.suspended").count() == 1


def test_api_key_replay_returns_the_same_key_record_without_the_secret(staff, merchant_kit):
    path = f"/api/v1/staff/merchants/{merchant_kit.merchant.id}/api-keys"
    first = staff_post(staff, path, {"name": "till 2"}, "key-1")
    assert first.status_code == 201 and first.json()["key"].startswith("dzk_")
    count = ApiKey.objects.count()
    again = staff_post(staff, path, {"name": "till 2"}, "key-1")
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.json()["key"] is None
    assert ApiKey.objects.count() == count
    stored = IdempotencyRecord.objects.get(key="key-1")
    assert first.json()["key"] not in json.dumps(stored.body)
