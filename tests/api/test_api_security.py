"""Who may call what: a merchant sees only its own data, credentials are checked on every
endpoint, staff calls need their Django permission, and every staff change is audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from daozhang.access.models import ApiKey, StaffToken
from daozhang.access.services import issue_api_key, issue_staff_token, revoke_api_key
from daozhang.api import api
from daozhang.audit.models import AuditEvent
from daozhang.merchants.models import Merchant
from daozhang.payments.models import Payment
from daozhang.risk.models import RiskHold
from daozhang.risk.services import hold_funds
from daozhang.settlement.models import SettlementBatch
from daozhang.terminals import services as terminals
from daozhang.terminals.models import Terminal
from tests.conftest import CREDIT_CARD, MerchantKit, valid_uscc

# ---------------------------------------------------------------------------- helpers

PORTAL_PASSWORD = "Qz7!portal-Pw-2718"  # passes Django's password validators


def table_counts() -> dict[str, int]:
    """Row count of every table: "nothing was written" means none of these moved (but the
    sign-in throttle's failure counters, whose job is to count refused credentials)."""
    return {m._meta.label: m._base_manager.count() for m in apps.get_models()
            if m._meta.label != "access.LoginThrottle"}


def assert_error(resp: Any, status: int, code: str, field: str | None = "__any__") -> dict[str, Any]:
    assert resp.status_code == status, resp.content
    assert b"Traceback" not in resp.content
    err = resp.json()["error"]
    assert err["code"] == code, err
    if field != "__any__":
        assert err["field"] == field, err
    assert err["message"]
    return err


def call(client: Client, method: str, path: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
    if method == "get":
        return client.get(path, **headers)
    return client.post(path, data=json.dumps(body or {}), content_type="application/json", **headers)


def staff_user(username: str, *perms: str, is_staff: bool = True, is_active: bool = True) -> tuple[Any, Client]:
    """A plain staff user (not a superuser) holding exactly `perms`, with an API client."""
    user = get_user_model().objects.create_user(username, f"{username}@example.com", None,
                                                is_staff=is_staff, is_active=is_active)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    _, raw = issue_staff_token(user=user, name="test")
    return user, Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")


def onboard_body(n: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "legal_name": f"安全测试商户{n}有限公司", "short_name": f"安全{n}", "uscc": valid_uscc(n), "mcc": "5812",
        "region_code": "2900", "contact_name": "李四", "contact_phone": "13912345678",
        "bank_account": {"holder_name": f"安全测试商户{n}有限公司", "account_number": "31001234567890123",
                         "bank_name": "中国工商银行", "account_type": "corporate"},
    }
    body.update(overrides)
    return body


@dataclass
class Two:
    a: MerchantKit
    b: MerchantKit
    a_sale: dict[str, Any]
    b_sale: dict[str, Any]
    b_credit: dict[str, Any]
    b_wechat: dict[str, Any]


@pytest.fixture
def two(make_merchant: Callable[..., MerchantKit]) -> Two:
    """Merchants A and B, each with approved sales on its own terminal (same debit card)."""
    a, b = make_merchant(), make_merchant()
    a_sale = a.sale(10000).json()
    b_sale = b.sale(23400).json()
    b_credit = b.sale(45600, pan=CREDIT_CARD, entry_mode="contactless").json()
    b_wechat = b.sale(7800, channel="wechat", entry_mode="qr").json()
    for p in (a_sale, b_sale, b_credit, b_wechat):
        assert p["status"] == "approved", p
    return Two(a, b, a_sale, b_sale, b_credit, b_wechat)


def b_ids(two: Two) -> set[str]:
    return {two.b_sale["id"], two.b_credit["id"], two.b_wechat["id"]}


# ------------------------------------------------------------ merchant data isolation


def test_get_another_merchants_payment_by_id_is_404(two):
    for pid in b_ids(two):
        assert_error(two.a.get(f"/api/v1/payments/{pid}"), 404, "not_found")
        assert two.b.get(f"/api/v1/payments/{pid}").status_code == 200  # B itself can read it
    assert two.a.get(f"/api/v1/payments/{two.a_sale['id']}").json()["id"] == two.a_sale["id"]


@pytest.mark.parametrize("terminal_of", ["a", "b"])
def test_void_of_another_merchants_payment_is_404_and_changes_nothing(two, terminal_of):
    tid = getattr(two, terminal_of).terminal.terminal_id
    before = table_counts()
    b_balance = two.b.get("/api/v1/balance").json()
    for pid in b_ids(two):
        assert_error(two.a.post(f"/api/v1/payments/{pid}/void", {"terminal_id": tid}), 404, "not_found")
    assert table_counts() == before
    assert set(Payment.objects.filter(merchant=two.b.merchant).values_list("status", flat=True)) == {"approved"}
    assert two.b.get("/api/v1/balance").json() == b_balance


def test_lookup_never_finds_another_merchants_payment(two):
    b_tid = two.b.terminal.terminal_id
    assert two.b_sale["rrn"]
    assert two.a.get("/api/v1/payments/lookup", rrn=two.b_sale["rrn"]).json() == []
    assert two.a.get("/api/v1/payments/lookup", terminal_id=b_tid, stan=two.b_sale["stan"]).json() == []
    assert two.a.get("/api/v1/payments/lookup", terminal_id=b_tid.lower(), stan=two.b_sale["stan"],
                     business_date=two.b_sale["business_date"]).json() == []
    # The same look-ups find the payment for B, so the empty answers above are about ownership.
    assert [p["id"] for p in two.b.get("/api/v1/payments/lookup", rrn=two.b_sale["rrn"]).json()] == [
        two.b_sale["id"]]
    assert [p["id"] for p in two.b.get("/api/v1/payments/lookup", terminal_id=b_tid,
                                       stan=two.b_sale["stan"]).json()] == [two.b_sale["id"]]


def test_lookup_of_a_stan_both_merchants_used_returns_only_own(two):
    shared_stan = two.b_sale["stan"]
    mine = two.a.sale(1200, stan=shared_stan).json()
    rows = two.a.get("/api/v1/payments/lookup", terminal_id=two.a.terminal.terminal_id, stan=shared_stan).json()
    assert [p["id"] for p in rows] == [mine["id"]]


@pytest.mark.parametrize("params", [
    {}, {"status": "approved"}, {"channel": "card"}, {"channel": "wechat"}, {"last4": CREDIT_CARD[-4:]},
    {"amount_min": 1, "amount_max": 999_999_999_999},
], ids=["all", "status", "card", "wechat", "last4", "amount"])
def test_list_and_export_never_include_another_merchants_rows(two, params):
    listed = two.a.get("/api/v1/payments", **params)
    assert listed.status_code == 200, listed.content
    ids = {p["id"] for p in listed.json()["items"]}
    assert ids <= {two.a_sale["id"]}
    assert not ids & b_ids(two)
    exported = two.a.get("/api/v1/payments/export.csv", **params)
    assert exported.status_code == 200
    text = b"".join(exported.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["payment_id"] for r in rows} == ids
    for pid in b_ids(two):
        assert pid not in text
    assert two.b.terminal.terminal_id not in text
    assert two.b_sale["rrn"] not in text


def test_list_filtered_by_another_merchants_terminal_is_empty(two):
    b_tid = two.b.terminal.terminal_id
    assert two.a.get("/api/v1/payments", terminal_id=b_tid).json() == {"items": [], "next_cursor": None,
                                                                        "prev_cursor": None}
    text = b"".join(two.a.get("/api/v1/payments/export.csv", terminal_id=b_tid).streaming_content)
    assert len(list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))) == 1  # the header only


def test_another_merchants_cursor_does_not_page_into_its_rows(two):
    page = two.b.get("/api/v1/payments", limit=1).json()
    assert page["next_cursor"]
    rows = two.a.get("/api/v1/payments", cursor=page["next_cursor"], limit=500).json()["items"]
    assert not {p["id"] for p in rows} & b_ids(two)


def test_reversal_on_another_merchants_terminal_is_404_and_changes_nothing(two):
    before = table_counts()
    b_balance = two.b.get("/api/v1/balance").json()
    r = two.a.post("/api/v1/payments/reversal", {"terminal_id": two.b.terminal.terminal_id,
                                                 "original_stan": two.b_sale["stan"]})
    assert_error(r, 404, "unknown_terminal", "terminal_id")
    assert table_counts() == before
    assert Payment.objects.get(id=two.b_sale["id"]).status == "approved"
    assert two.b.get("/api/v1/balance").json() == b_balance


@pytest.mark.parametrize("channel", ["card", "wechat"])
def test_sale_on_another_merchants_terminal_is_404_and_writes_nothing(two, channel):
    before = table_counts()
    for tid in (two.b.terminal.terminal_id, two.b.terminal.terminal_id.lower()):
        r = two.a.sale(5000, channel=channel, entry_mode="chip" if channel == "card" else "qr", terminal_id=tid)
        assert_error(r, 404, "unknown_terminal", "terminal_id")
    assert table_counts() == before


def test_terminal_list_shows_only_own_terminals(two):
    # B gets a second terminal; a terminal in stock belongs to nobody.
    t2 = terminals.register_terminal(serial_number="SN-SEC-B2", terminal_id="SECB0002", model="x", actor="test")
    terminals.bind_terminal(terminal_id=t2.id, merchant_id=two.b.merchant.id, install_address="", actor="test")
    terminals.register_terminal(serial_number="SN-SEC-STOCK", terminal_id="SECSTOCK", model="x", actor="test")
    mine = two.a.get("/api/v1/terminals")
    assert mine.status_code == 200
    assert [t["terminal_id"] for t in mine.json()] == [two.a.terminal.terminal_id]
    assert {t["merchant_no"] for t in mine.json()} == {two.a.merchant.merchant_no}
    for leaked in (two.b.terminal.terminal_id, "SECB0002", "SECSTOCK", two.b.merchant.merchant_no):
        assert leaked not in mine.content.decode()
    assert {t["terminal_id"] for t in two.b.get("/api/v1/terminals").json()} == {two.b.terminal.terminal_id,
                                                                               "SECB0002"}


def test_balance_and_profile_are_own(two):
    a_bal, b_bal = two.a.get("/api/v1/balance").json(), two.b.get("/api/v1/balance").json()
    assert a_bal["unsettled"] == two.a_sale["net"]
    assert b_bal["unsettled"] == two.b_sale["net"] + two.b_credit["net"] + two.b_wechat["net"]
    me = two.a.get("/api/v1/merchant").json()
    assert me["id"] == str(two.a.merchant.id) and me["merchant_no"] == two.a.merchant.merchant_no
    assert two.b.merchant.merchant_no not in json.dumps(me)


# ----------------------------------------------------------------- authentication

MERCHANT_ROUTES = {
    ("post", "/api/v1/payments/sale"), ("post", "/api/v1/payments/{payment_id}/void"),
    ("post", "/api/v1/payments/reversal"), ("get", "/api/v1/payments"), ("get", "/api/v1/payments/export.csv"),
    ("get", "/api/v1/payments/lookup"), ("get", "/api/v1/payments/{payment_id}"), ("get", "/api/v1/merchant"),
    ("get", "/api/v1/terminals"), ("get", "/api/v1/balance"),
    ("get", "/api/v1/trace/payments/{payment_id}"), ("get", "/api/v1/trace/lookup"),
    ("get", "/api/v1/trace/batches/{batch_id}"), ("get", "/api/v1/trace/days/{day}"), ("get", "/api/v1/settlements"),
    ("get", "/api/v1/settlements/{batch_id}/statement.csv"), ("get", "/api/v1/settlements/{batch_id}/statement.pdf"),
    ("post", "/api/v1/enquiries"), ("post", "/api/v1/settlement-account/changes"), ("post", "/api/v1/ping"),
}
ANY_BATCH = "01900000-0000-7000-8000-000000000001"
STAFF_ROUTES = {
    ("post", "/api/v1/staff/merchants"), ("get", "/api/v1/staff/merchants/{merchant_id}"),
    ("post", "/api/v1/staff/merchants/{merchant_id}/status"),
    ("post", "/api/v1/staff/merchants/{merchant_id}/api-keys"),
    ("post", "/api/v1/staff/merchants/{merchant_id}/users"),
    ("post", "/api/v1/staff/terminals"), ("post", "/api/v1/staff/terminals/{terminal_pk}/bind"),
    ("post", "/api/v1/staff/terminals/{terminal_pk}/status"),
    ("post", "/api/v1/staff/merchants/{merchant_id}/holds"), ("post", "/api/v1/staff/holds/{hold_id}/release"),
    ("post", "/api/v1/staff/merchants/{merchant_id}/adjustments"),
    ("post", "/api/v1/staff/batches/{batch_id}/hold"), ("post", "/api/v1/staff/batches/{batch_id}/repay"),
}


def test_every_api_route_is_covered_by_these_tests():
    """A new endpoint must be added here (and so to the auth tests) before the suite passes."""
    schema = api.get_openapi_schema()
    found = {(m, p) for p, ops in schema["paths"].items() for m in ops}
    assert found == MERCHANT_ROUTES | STAFF_ROUTES
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            # Staff operations check the permission in the authentication step (core.edge).
            scheme = "StaffPermission" if (method, path) in STAFF_ROUTES else "MerchantKeyAuth"
            assert op.get("security") == [{scheme: []}], (method, path)


def merchant_calls(kit: MerchantKit, pid: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    tid = kit.terminal.terminal_id
    calls = [
        ("post", "/api/v1/payments/sale", {"terminal_id": tid, "stan": "424242", "amount": 100, "channel": "card",
                                           "entry_mode": "chip", "card_number": CREDIT_CARD}),
        ("post", f"/api/v1/payments/{pid}/void", {"terminal_id": tid}),
        ("post", "/api/v1/payments/reversal", {"terminal_id": tid, "original_stan": "000001"}),
        ("get", "/api/v1/payments", None),
        ("get", "/api/v1/payments/export.csv", None),
        ("get", "/api/v1/payments/lookup?rrn=123456789012", None),
        ("get", f"/api/v1/payments/{pid}", None),
        ("get", "/api/v1/merchant", None),
        ("get", "/api/v1/terminals", None),
        ("get", "/api/v1/balance", None),
        ("get", f"/api/v1/trace/payments/{pid}", None),
        ("get", "/api/v1/trace/lookup?rrn=123456789012", None),
        ("get", f"/api/v1/trace/batches/{ANY_BATCH}", None),
        ("get", "/api/v1/trace/days/2026-11-02", None),
        ("get", "/api/v1/settlements", None),
        ("get", f"/api/v1/settlements/{ANY_BATCH}/statement.csv", None),
        ("get", f"/api/v1/settlements/{ANY_BATCH}/statement.pdf", None),
        ("post", "/api/v1/enquiries", {"expected_amount": 100, "expected_date": "2026-11-02"}),
        ("post", "/api/v1/settlement-account/changes", {"holder_name": "x", "account_number": "31001234567890123",
                                                         "bank_name": "b", "account_type": "corporate"}),
        ("post", "/api/v1/ping", {}),
    ]
    assert {(m, p.split("?")[0].replace(pid, "{payment_id}").replace(ANY_BATCH, "{batch_id}")
             .replace("2026-11-02", "{day}")) for m, p, _ in calls} == MERCHANT_ROUTES
    return calls


def _staff_token_of_superuser() -> str:
    user = get_user_model().objects.create_superuser("root-sec", "root@example.com", None)
    return issue_staff_token(user=user, name="t")[1]


def _revoked_key(kit: MerchantKit) -> str:
    key, raw = issue_api_key(merchant=kit.merchant, name="old", actor="test")
    revoke_api_key(key=key, actor="test")
    return raw


CREDENTIALS: dict[str, Callable[[MerchantKit], str | None]] = {
    "none": lambda kit: None,
    "empty-bearer": lambda kit: "Bearer ",
    "garbage": lambda kit: "Bearer not-a-key",
    "unknown-dzk-key": lambda kit: "Bearer dzk_" + secrets.token_urlsafe(32),
    "revoked-key": lambda kit: f"Bearer {_revoked_key(kit)}",
    "staff-token": lambda kit: f"Bearer {_staff_token_of_superuser()}",
    "key-hash-as-key": lambda kit: "Bearer " + ApiKey.objects.get(merchant=kit.merchant).key_hash,
    "basic-scheme": lambda kit: f"Basic {kit.api_key}",
    "key-without-scheme": lambda kit: kit.api_key,
}


@pytest.mark.parametrize("cred", list(CREDENTIALS))
def test_merchant_endpoints_refuse_missing_or_bad_credentials(merchant_kit, cred):
    pid = merchant_kit.sale(10000).json()["id"]
    auth = CREDENTIALS[cred](merchant_kit)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    headers = {"HTTP_IDEMPOTENCY_KEY": "auth-probe"}
    if auth is not None:
        headers["HTTP_AUTHORIZATION"] = auth
    before = table_counts()
    for method, path, body in merchant_calls(merchant_kit, pid):
        r = call(client, method, path, body, **headers)
        assert r.status_code == 401, (cred, method, path, r.content)
        assert_error(r, 401, "credential_revoked" if cred == "revoked-key" else "unauthenticated", "Authorization")
        assert str(merchant_kit.merchant.merchant_no) not in r.content.decode()
    assert table_counts() == before
    assert Payment.objects.get(id=pid).status == "approved"


def test_merchant_key_still_works_after_another_key_of_it_is_revoked(merchant_kit):
    _revoked_key(merchant_kit)
    assert merchant_kit.get("/api/v1/merchant").status_code == 200


def test_revoking_a_key_locks_it_out_at_once(merchant_kit):
    key = ApiKey.objects.get(merchant=merchant_kit.merchant)
    assert merchant_kit.get("/api/v1/balance").status_code == 200
    revoke_api_key(key=key, actor="test")
    assert_error(merchant_kit.get("/api/v1/balance"), 401, "credential_revoked")
    assert_error(merchant_kit.sale(100), 401, "credential_revoked")


def staff_calls(kit: MerchantKit, spare: Terminal) -> list[tuple[str, str, dict[str, Any] | None]]:
    mid, tpk = kit.merchant.id, kit.terminal.id
    calls = [
        ("post", "/api/v1/staff/merchants", onboard_body(710001)),
        ("get", f"/api/v1/staff/merchants/{mid}", None),
        ("post", f"/api/v1/staff/merchants/{mid}/status", {"status": "suspended", "reason": "probe"}),
        ("post", f"/api/v1/staff/merchants/{mid}/api-keys", {"name": "probe"}),
        ("post", f"/api/v1/staff/merchants/{mid}/users", {"username": "probe-owner", "password": PORTAL_PASSWORD}),
        ("post", "/api/v1/staff/terminals", {"serial_number": "SN-PROBE-1", "terminal_id": "PROBE001"}),
        ("post", f"/api/v1/staff/terminals/{spare.id}/bind", {"merchant_id": str(mid)}),
        ("post", f"/api/v1/staff/terminals/{tpk}/status", {"status": "suspended", "reason": "probe"}),
    ]
    hold = RiskHold.objects.get(merchant=kit.merchant)
    due = SettlementBatch.objects.get(merchant=kit.merchant, status="due")
    held = SettlementBatch.objects.get(merchant=kit.merchant, status="held")
    calls += [
        ("post", f"/api/v1/staff/merchants/{mid}/holds", {"case_ref": "RK-SEC2", "reason": "probe", "amount": 100}),
        ("post", f"/api/v1/staff/holds/{hold.id}/release", {"note": "probe"}),
        ("post", f"/api/v1/staff/merchants/{mid}/adjustments", {"amount": -100, "reason": "probe"}),
        ("post", f"/api/v1/staff/batches/{due.id}/hold", {"reason": "probe"}),
        ("post", f"/api/v1/staff/batches/{held.id}/repay", {"reason": "probe"}),
    ]
    norm = {(m, p.replace(str(mid), "{merchant_id}").replace(str(spare.id), "{terminal_pk}")
             .replace(str(tpk), "{terminal_pk}").replace(str(hold.id), "{hold_id}").replace(str(due.id), "{batch_id}")
             .replace(str(held.id), "{batch_id}")) for m, p, _ in calls}
    assert norm == STAFF_ROUTES
    return calls


@pytest.fixture
def spare_terminal(merchant_kit: MerchantKit) -> Terminal:
    """A terminal in stock, plus what the settlement endpoints act on: frozen funds and two batches."""
    merchant_kit.sale(100000)
    hold_funds(merchant_id=merchant_kit.merchant.id, amount=1000, case_ref="RK-SEC", reason="probe", actor="test")
    now = timezone.now()
    for day, status in ((dt.date(2026, 11, 2), "due"), (dt.date(2026, 11, 3), "held")):
        SettlementBatch.objects.create(merchant=merchant_kit.merchant, settlement_date=day, cycle="T1",
                                       payout_date=day + dt.timedelta(days=1), net=100, status=status,
                                       created_at=now, updated_at=now)
    return terminals.register_terminal(serial_number="SN-SEC-SPARE", terminal_id="SPARE001", model="x",
                                       actor="test")


def _user_token(kind: str) -> str | None:
    if kind == "non-staff-user":
        _, c = staff_user("not-staff", "merchants.add_merchant", is_staff=False)
    elif kind == "inactive-staff-user":
        _, c = staff_user("gone", "merchants.add_merchant", is_active=False)
    else:
        raise AssertionError(kind)
    return c.defaults["HTTP_AUTHORIZATION"]


STAFF_CREDENTIALS: dict[str, Callable[[MerchantKit], str | None]] = {
    "none": lambda kit: None,
    "garbage": lambda kit: "Bearer nope",
    "unknown-dzs-token": lambda kit: "Bearer dzs_" + secrets.token_urlsafe(32),
    "merchant-key": lambda kit: f"Bearer {kit.api_key}",
    "non-staff-user": lambda kit: _user_token("non-staff-user"),
    "inactive-staff-user": lambda kit: _user_token("inactive-staff-user"),
}


@pytest.mark.parametrize("cred", list(STAFF_CREDENTIALS))
def test_staff_endpoints_refuse_missing_or_bad_credentials(merchant_kit, spare_terminal, cred):
    auth = STAFF_CREDENTIALS[cred](merchant_kit)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    headers = {"HTTP_IDEMPOTENCY_KEY": "auth-probe"}
    if auth is not None:
        headers["HTTP_AUTHORIZATION"] = auth
    before = table_counts()
    for method, path, body in staff_calls(merchant_kit, spare_terminal):
        r = call(client, method, path, body, **headers)
        assert r.status_code == 401, (cred, method, path, r.content)
        assert_error(r, 401, "unauthenticated", "Authorization")
    assert table_counts() == before


def test_revoked_staff_token_is_refused(merchant_kit):
    _, client = staff_user("revoked", "merchants.view_merchant")
    path = f"/api/v1/staff/merchants/{merchant_kit.merchant.id}"
    assert client.get(path).status_code == 200
    StaffToken.objects.update(revoked_at=timezone.now())
    assert_error(client.get(path), 401, "credential_revoked")


# ------------------------------------------------------------------ staff permissions


@dataclass(frozen=True)
class StaffCase:
    name: str
    perm: str
    action: str | None  # the audit action written on success; None for reads


STAFF_CASES = [
    StaffCase("onboard", "merchants.add_merchant", "merchant.onboard"),
    StaffCase("get_merchant", "merchants.view_merchant", None),
    StaffCase("merchant_status", "merchants.change_merchant", "merchant.status"),
    StaffCase("api_key", "access.add_apikey", "api_key.issue"),
    StaffCase("merchant_user", "merchants.add_merchantuser", "merchant_user.create"),
    StaffCase("register_terminal", "terminals.add_terminal", "terminal.register"),
    StaffCase("bind_terminal", "terminals.change_terminal", "terminal.bind"),
    StaffCase("terminal_status", "terminals.change_terminal", "terminal.suspended"),
    StaffCase("freeze", "risk.add_riskhold", "risk.hold"),
    StaffCase("release", "risk.change_riskhold", "risk.release"),
    StaffCase("adjust", "settlement.add_adjustment", "settlement.adjust"),
    StaffCase("hold_batch", "settlement.change_settlementbatch", "batch.hold"),
    StaffCase("repay_batch", "settlement.change_settlementbatch", "batch.repay"),
]
ALL_STAFF_PERMS = sorted({c.perm for c in STAFF_CASES})
CASE_INDEX = {c.name: i for i, c in enumerate(STAFF_CASES)}


def _state(kit: MerchantKit, spare: Terminal) -> dict[str, Any]:
    kit.merchant.refresh_from_db()
    return {
        "counts": table_counts(),
        "merchant": kit.merchant.status,
        "terminal": Terminal.objects.get(id=kit.terminal.id).status,
        "spare": (Terminal.objects.get(id=spare.id).status, Terminal.objects.get(id=spare.id).merchant_id),
    }


@pytest.mark.parametrize("case", STAFF_CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_staff_without_the_permission_gets_403_and_nothing_changes(merchant_kit, spare_terminal, case, lang):
    # The user holds every other staff permission, just not this one.
    others = [p for p in ALL_STAFF_PERMS if p != case.perm]
    _, client = staff_user("clerk", *others)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = lang
    method, path, body = staff_calls(merchant_kit, spare_terminal)[CASE_INDEX[case.name]]
    before = _state(merchant_kit, spare_terminal)
    r = call(client, method, path, body, HTTP_IDEMPOTENCY_KEY="perm-probe")
    err = assert_error(r, 403, "forbidden")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err["message"]) == (lang == "zh-CN")
    assert _state(merchant_kit, spare_terminal) == before


def test_staff_without_any_permission_gets_403_everywhere(merchant_kit, spare_terminal):
    _, client = staff_user("nobody")
    before = _state(merchant_kit, spare_terminal)
    for method, path, body in staff_calls(merchant_kit, spare_terminal):
        assert_error(call(client, method, path, body, HTTP_IDEMPOTENCY_KEY=f"k-{path}"), 403, "forbidden")
    assert _state(merchant_kit, spare_terminal) == before


@pytest.mark.parametrize("case", STAFF_CASES, ids=lambda c: c.name)
def test_staff_with_the_permission_succeeds_and_every_change_is_audited(merchant_kit, spare_terminal, case):
    user, client = staff_user("operator", case.perm)
    method, path, body = staff_calls(merchant_kit, spare_terminal)[CASE_INDEX[case.name]]
    audits_before = set(AuditEvent.objects.values_list("id", flat=True))
    r = call(client, method, path, body, HTTP_IDEMPOTENCY_KEY="perm-ok")
    assert r.status_code in (200, 201), r.content
    out = r.json()
    new = list(AuditEvent.objects.exclude(id__in=audits_before))
    if case.action is None:
        assert new == []  # a read is not a change
        assert out["id"] == str(merchant_kit.merchant.id)
        return
    assert len(new) == 1, [(e.action, e.actor) for e in new]
    ev = new[0]
    assert ev.actor == f"staff:{user.get_username()}"
    assert ev.action == case.action
    assert ev.after, ev.after
    expected: dict[str, tuple[Any, Any]] = {
        # name: (before, object id)
        "onboard": (None, out["id"]),
        "merchant_status": ({"status": "active"}, str(merchant_kit.merchant.id)),
        "api_key": (None, out["id"]),
        "merchant_user": (None, str(out["id"])),
        "register_terminal": (None, out["id"]),
        "bind_terminal": ({"status": "in_stock"}, str(spare_terminal.id)),
        "terminal_status": ({"status": "active", "merchant_id": str(merchant_kit.merchant.id)},
                            str(merchant_kit.terminal.id)),
        "freeze": (None, out["id"]),
        "release": ({"released": False}, str(RiskHold.objects.get(case_ref="RK-SEC").id)),
        "adjust": (None, out["id"]),
        "hold_batch": ({"status": "due"}, out["id"]),
        "repay_batch": ({"status": "held"}, out["id"]),
    }
    want_before, obj_id = expected[case.name]
    assert ev.before == want_before
    assert ev.object_id == obj_id
    if case.name == "onboard":
        m = Merchant.objects.get(id=out["id"])
        assert ev.merchant_id == m.id and ev.after["merchant_no"] == m.merchant_no
    elif case.name == "merchant_status":
        assert ev.after == {"status": "suspended", "reason": "probe"}
        assert Merchant.objects.get(id=merchant_kit.merchant.id).status == "suspended"
    elif case.name == "api_key":
        assert out["key"].startswith("dzk_")
        assert out["key"] not in json.dumps(ev.after)  # the raw key is shown once, never stored
        assert ev.after == {"name": "probe", "prefix": out["key"][:10], "expires_at": None}
        # The new key authenticates as the merchant.
        me = Client(HTTP_AUTHORIZATION=f"Bearer {out['key']}").get("/api/v1/merchant")
        assert me.json()["id"] == str(merchant_kit.merchant.id)
    elif case.name == "merchant_user":
        assert ev.after == {"username": "probe-owner", "role": "owner"}
        assert ev.merchant_id == merchant_kit.merchant.id
        assert PORTAL_PASSWORD not in json.dumps(ev.after)
        assert out["merchant_no"] == merchant_kit.merchant.merchant_no
    elif case.name == "register_terminal":
        assert ev.after == {"serial_number": "SN-PROBE-1", "terminal_id": "PROBE001"}
        assert out["status"] == "in_stock"
    elif case.name == "bind_terminal":
        assert ev.after["status"] == "bound" and ev.after["merchant_no"] == merchant_kit.merchant.merchant_no
        assert ev.merchant_id == merchant_kit.merchant.id
    elif case.name == "terminal_status":
        assert ev.after == {"status": "suspended", "reason": "probe"}
        assert Terminal.objects.get(id=merchant_kit.terminal.id).status == "suspended"


def test_staff_change_refused_by_a_business_rule_writes_no_audit_event(merchant_kit):
    _, client = staff_user("operator2", "merchants.change_merchant")
    before = table_counts()
    r = call(client, "post", f"/api/v1/staff/merchants/{merchant_kit.merchant.id}/status",
             {"status": "active", "reason": "already active"}, HTTP_IDEMPOTENCY_KEY="noop")
    assert_error(r, 400, "bad_transition", "status")
    assert table_counts() == before


def test_issued_api_key_is_stored_only_as_a_hash(merchant_kit):
    _, client = staff_user("keys", "access.add_apikey")
    r = call(client, "post", f"/api/v1/staff/merchants/{merchant_kit.merchant.id}/api-keys", {"name": "pos"},
             HTTP_IDEMPOTENCY_KEY="issue-1")
    raw = r.json()["key"]
    assert raw.startswith("dzk_")
    for model in apps.get_models():
        for obj in model._base_manager.all():
            for f in model._meta.concrete_fields:
                assert raw not in str(f.value_from_object(obj)), (model, f.name)
