"""No bad input gets through (issue 9, items 4-6): every probe of the adversarial review
answers a 4xx naming the field and the reason, in JSON, and writes nothing."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.test import Client

from daozhang.access.services import issue_staff_token
from daozhang.core import clock
from daozhang.core.errors import CATALOGUE
from daozhang.ledger.accounts import adjustments_account, merchant_payable
from daozhang.ledger.models import Account
from daozhang.ledger.services import Leg, NewEntry, post_entry
from daozhang.merchants import services as merchants
from tests.api.test_api_bad_input import Unchanged, assert_error, has_cjk, onboard_body, staff_post

MAX = 999_999_999_999
NOBODY = "00000000-0000-7000-8000-000000000000"


@pytest.fixture
def unchanged(db: None) -> Unchanged:
    return Unchanged()


@pytest.fixture
def staff(db: None) -> Client:
    user = get_user_model().objects.create_superuser("edge-boss", "e@example.com", None)
    _, raw = issue_staff_token(user=user, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")


def ledger_ok() -> None:
    out = io.StringIO()
    call_command("ledger", "check", stdout=out, stderr=io.StringIO())
    assert out.getvalue().startswith("ledger OK"), out.getvalue()


# ------------------------------------------------------------ 4. one amount rule


@pytest.mark.parametrize(("amount", "code"), [
    pytest.param(2**63 - 1, "too_large", id="int64-max"),
    pytest.param(-(2**63), "too_large", id="int64-min"),
    pytest.param(2**64, "too_large", id="past-int64"),
    pytest.param(MAX + 1, "too_large", id="max-plus-one"),
    pytest.param(-(MAX + 1), "too_large", id="minus-max-minus-one"),
    pytest.param(0, "zero_adjustment", id="zero"),
    pytest.param(1.0, "not_integer_fen", id="float"),
])
def test_adjustment_amount_rule(staff, merchant_kit, unchanged, amount, code):
    unchanged.snap()
    for lang in ("en", "zh-CN"):
        r = staff_post(staff, f"/api/v1/staff/merchants/{merchant_kit.merchant.id}/adjustments",
                       {"amount": amount, "reason": "probe"}, key=f"adj-{amount}-{lang}", HTTP_ACCEPT_LANGUAGE=lang)
        err = assert_error(r, 400, code, "amount")
        assert has_cjk(err["message"]) == (lang == "zh-CN")
    unchanged()
    assert merchant_kit.get("/api/v1/balance").status_code == 200
    ledger_ok()


@pytest.mark.parametrize("amount", [MAX, -MAX])
def test_adjustment_at_the_maximum_is_accepted(staff, merchant_kit, amount, settings):
    settings.ADJUSTMENT_APPROVAL_FEN = MAX  # one approver here: the amount's bound is what is tested
    r = staff_post(staff, f"/api/v1/staff/merchants/{merchant_kit.merchant.id}/adjustments",
                   {"amount": amount, "reason": "bound"}, key=f"adj-ok-{amount}")
    assert r.status_code == 201, r.content
    assert merchant_kit.get("/api/v1/balance").json()["unsettled"] == amount
    ledger_ok()


@pytest.mark.parametrize("amount", [2**63 - 1, 2**63, 2**64, MAX + 1])
def test_every_money_input_has_the_same_maximum(staff, merchant_kit, unchanged, amount):
    kit = merchant_kit
    unchanged.snap()
    sale = {"terminal_id": kit.terminal.terminal_id, "stan": "123456", "amount": amount, "channel": "card",
            "entry_mode": "chip", "card_number": "6222021234567890"}
    assert_error(kit.post("/api/v1/payments/sale", sale), 400, "too_large", "amount")
    assert_error(kit.post("/api/v1/payments/reversal", {"terminal_id": kit.terminal.terminal_id,
                                                         "original_stan": "123456", "amount": amount}),
                 400, "too_large", "amount")
    assert_error(kit.post("/api/v1/enquiries", {"expected_amount": amount, "expected_date": "2026-05-01"}),
                 400, "too_large", "expected_amount")
    assert_error(staff_post(staff, f"/api/v1/staff/merchants/{kit.merchant.id}/holds",
                            {"case_ref": "C1", "reason": "r", "amount": amount}), 400, "too_large", "amount")
    for name in ("amount_min", "amount_max"):
        assert_error(kit.get("/api/v1/payments", **{name: str(amount)}), 400, "too_large", name)
    unchanged()


def test_openapi_states_the_amount_rule():
    from daozhang.api import api

    schemas = api.get_openapi_schema()["components"]["schemas"]
    assert schemas["AdjustIn"]["properties"]["amount"]["maximum"] == MAX
    assert schemas["AdjustIn"]["properties"]["amount"]["minimum"] == -MAX
    assert schemas["SaleIn"]["properties"]["amount"]["minimum"] == 1
    assert schemas["SaleIn"]["properties"]["amount"]["maximum"] == MAX


def test_the_ledger_refuses_a_balance_outside_64_bits(merchant_kit):
    """On SQLite as on PostgreSQL: the statement fails, the transaction rolls back."""
    acct = merchant_payable(merchant_kit.merchant.id)
    before = Account.objects.get(id=acct.id).balance
    with pytest.raises(DatabaseError), transaction.atomic():
        Account.objects.filter(merchant_id=acct.merchant_id, id=acct.id).update(balance=F("balance") + (2**63 - 1))
        Account.objects.filter(merchant_id=acct.merchant_id, id=acct.id).update(balance=F("balance") + (2**63 - 1))
    assert Account.objects.get(id=acct.id).balance == before
    ledger_ok()


def test_a_database_out_of_range_is_a_4xx_with_nothing_written(staff, merchant_kit, unchanged, monkeypatch):
    from daozhang.api import settlement as settlement_api

    def overflowing_adjust(**kwargs: Any) -> Any:
        with transaction.atomic():
            acct = merchant_payable(merchant_kit.merchant.id)
            Account.objects.filter(merchant_id=acct.merchant_id, id=acct.id).update(balance=F("balance") + (2**63 - 1))
            Account.objects.filter(merchant_id=acct.merchant_id, id=acct.id).update(balance=F("balance") + (2**63 - 1))

    monkeypatch.setattr(settlement_api, "adjust", overflowing_adjust)
    unchanged.snap()
    r = staff_post(staff, f"/api/v1/staff/merchants/{merchant_kit.merchant.id}/adjustments",
                   {"amount": 5, "reason": "overflow"}, key="overflow")
    assert_error(r, 400, "out_of_range", None)
    unchanged()
    ledger_ok()


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_ledger_check_reports_an_overflowed_sqlite_ledger_without_crashing(merchant_kit):
    """A database written before the 64-bit guard: SUM() would raise "integer overflow"."""
    with connection.cursor() as cur:
        for name in ("ledger_posting_amount_int", "ledger_account_balance_int_ins", "ledger_account_balance_int_upd"):
            cur.execute(f"DROP TRIGGER IF EXISTS {name}")
    payable, platform = merchant_payable(merchant_kit.merchant.id), adjustments_account(merchant_kit.merchant.id)
    for i in range(2):
        post_entry(NewEntry(kind="test.overflow", idempotency_key=f"overflow:{i}", business_ref="t",
                            business_date=clock.business_date(clock.now()), merchant_id=merchant_kit.merchant.id,
                            legs=(Leg(platform, 2**63 - 1), Leg(payable, -(2**63 - 1)))))
    err = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("ledger", "check", stdout=io.StringIO(), stderr=err)
    assert "ledger FAILED" in str(exc.value)
    assert payable.code in err.getvalue()


# ---------------------------------------------------------- 5. 500 instead of 4xx


OUT_OF_RANGE_DATES = ["9999-12-31", "0001-01-01", "1999-12-31", "2100-01-01"]


@pytest.mark.parametrize("day", OUT_OF_RANGE_DATES)
def test_dates_outside_the_business_range_are_refused(merchant_kit, unchanged, day):
    kit = merchant_kit
    unchanged.snap()
    for path in ("/api/v1/payments", "/api/v1/payments/export.csv", "/api/v1/settlements"):
        for name in ("date_from", "date_to"):
            err = assert_error(kit.get(path, **{name: day}), 400, "date_out_of_range", name)
            assert "2000-01-01" in err["message"] and "2099-12-31" in err["message"]
    assert_error(kit.get("/api/v1/payments/lookup", rrn="1", business_date=day), 400, "date_out_of_range",
                 "business_date")
    assert_error(kit.get(f"/api/v1/trace/days/{day}"), 400, "date_out_of_range", "day")
    assert_error(kit.post("/api/v1/enquiries", {"expected_amount": 100, "expected_date": day}), 400,
                 "date_out_of_range", "expected_date")
    unchanged()


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize("value", [
    _cursor(f"0001-01-01T00:00:00+00:00|{NOBODY}"),
    _cursor(f"9999-12-31T23:59:59+00:00|{NOBODY}"),
    _cursor(f"0001-01-01T00:00:00|{NOBODY}"),
    _cursor(f"2026-05-01T00:00:00|{NOBODY}"),  # naive
    _cursor("2026-05-01T00:00:00+00:00|not-a-uuid"),
    _cursor("\u00e9\u00e9|x"),
    "%%%", "a" * 10_000, "\x00",
])
@pytest.mark.parametrize("name", ["cursor", "before"])
def test_malformed_or_out_of_range_cursors_are_refused(merchant_kit, name, value):
    merchant_kit.sale(1000)
    r = merchant_kit.get("/api/v1/payments", **{name: value})
    assert r.status_code == 400, r.content
    assert r.json()["error"]["field"] == name


def test_a_csv_export_fails_before_its_first_byte(merchant_kit, monkeypatch):
    from daozhang.payments import selectors

    merchant_kit.sale(1000)

    def breaking(qs: Any) -> Any:
        yield "header\n"
        raise DatabaseError("the query failed")

    monkeypatch.setattr(selectors, "export_csv", breaking)
    r = merchant_kit.get("/api/v1/payments/export.csv")
    assert not r.streaming and r.status_code == 500
    assert r.json()["error"]["code"] == "internal"
    # Bad filters: a JSON 400, not a 200 whose file stops after the header.
    r = merchant_kit.get("/api/v1/payments/export.csv", date_to="9999-12-31")
    assert not r.streaming and r.status_code == 400


def test_a_body_over_the_limit_is_413(merchant_kit, unchanged, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    unchanged.snap()
    body = {"terminal_id": merchant_kit.terminal.terminal_id, "pad": "x" * 5000}
    err = assert_error(merchant_kit.post("/api/v1/payments/sale", body), 413, "payload_too_large", "body")
    assert "4096" in err["message"]
    unchanged()


@pytest.mark.parametrize(("overrides", "code", "field"), [
    pytest.param({"contact_email": "a" * 10_000 + "@example.com"}, "too_long", "contact_email", id="email-10kb"),
    pytest.param({"bank_account.bank_branch_code": "1" * 13}, "invalid", "bank_account.bank_branch_code",
                 id="cnaps-13"),
    pytest.param({"bank_account.bank_branch_code": "9" * 10_000}, "invalid", "bank_account.bank_branch_code",
                 id="cnaps-10kb"),
    pytest.param({"short_name": "短" * 61}, "too_long", "short_name", id="short-name-61"),
    pytest.param({"contact_name": "x" * 61}, "too_long", "contact_name", id="contact-name-61"),
    pytest.param({"address": "x" * 201}, "too_long", "address", id="address-201"),
    pytest.param({"uscc": "9" * 19}, "too_long", "uscc", id="uscc-19"),
    pytest.param({"mcc": "58120"}, "too_long", "mcc", id="mcc-5"),
    pytest.param({"contact_phone": "1" * 21}, "too_long", "contact_phone", id="phone-21"),
    pytest.param({"bank_account.holder_name": "x" * 201}, "too_long", "bank_account.holder_name", id="holder-201"),
    pytest.param({"bank_account.bank_name": "x" * 101}, "too_long", "bank_account.bank_name", id="bank-101"),
    pytest.param({"fee_plan": "x" * 41}, "too_long", "fee_plan", id="fee-plan-41"),
])
def test_strings_longer_than_their_column_are_refused(staff, unchanged, overrides, code, field):
    unchanged.snap()
    r = staff_post(staff, "/api/v1/staff/merchants", onboard_body(730001, **overrides))
    err = assert_error(r, 400, code, field)
    if code == "too_long":
        assert err["message"] == CATALOGUE["too_long"][0].format(max=err["message"].split()[-2])
    unchanged()


def test_usernames_are_compared_after_nfkc(staff, merchant_kit, unchanged):
    path = f"/api/v1/staff/merchants/{merchant_kit.merchant.id}/users"
    first = staff_post(staff, path, {"username": "merchant1", "password": "Qz7!portal-Pw-2718"}, key="u1")
    assert first.status_code == 201, first.content
    unchanged.snap()
    for i, twin in enumerate(["\uff4derchant1", "\uff4d\uff45\uff52\uff43\uff48\uff41\uff4e\uff54\uff11"]):
        r = staff_post(staff, path, {"username": twin, "password": "Qz7!portal-Pw-2718"}, key=f"u2-{i}")
        assert_error(r, 400, "duplicate", "username")
    unchanged()
    with pytest.raises(merchants.DomainError):
        merchants.create_merchant_user(merchant_id=merchant_kit.merchant.id, username="\uff4derchant1",
                                       password="Qz7!portal-Pw-2718", role="owner", actor="t")


# ------------------------------------------------- 6. accepted though it should not be


@pytest.mark.parametrize(("raw", "content_type"), [
    ("amount=100&stan=123456", "application/x-www-form-urlencoded"),
    ('{"amount": 100}', "text/plain"),
    ('{"amount": 100}', "application/xml"),
    ("--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n", "multipart/form-data; boundary=x"),
])
def test_non_json_bodies_are_415(merchant_kit, staff, unchanged, raw, content_type):
    unchanged.snap()
    for client, path in ((merchant_kit.client, "/api/v1/payments/sale"),
                         (staff, f"/api/v1/staff/holds/{NOBODY}/release")):
        r = client.post(path, data=raw, content_type=content_type, HTTP_IDEMPOTENCY_KEY="ct")
        assert_error(r, 415, "unsupported_media_type", "Content-Type")
    unchanged()


@pytest.mark.parametrize("raw", ['"abc"', "[1,2]", "null", "12", "true"])
def test_hold_release_takes_json_objects_only(staff, unchanged, raw):
    unchanged.snap()
    r = staff.post(f"/api/v1/staff/holds/{NOBODY}/release", data=raw, content_type="application/json",
                   HTTP_IDEMPOTENCY_KEY="rel")
    assert_error(r, 400, "not_an_object", "body")
    unchanged()


@pytest.mark.parametrize("day", ["0", "20260501", "2026-5-1", "2026-05-01T00:00:00", "01/05/2026", 20260501,
                                 "2026-02-30"])
def test_expected_date_is_yyyy_mm_dd_only(merchant_kit, unchanged, day):
    unchanged.snap()
    r = merchant_kit.post("/api/v1/enquiries", {"expected_amount": 100, "expected_date": day})
    assert_error(r, 400, "bad_date", "expected_date")
    unchanged()


BAD_TEXT = [
    pytest.param("a\x00b", "bad_text", id="nul"),
    pytest.param("a\x07b", "bad_text", id="bell"),
    pytest.param("a\nb", "bad_text", id="newline"),
    pytest.param("a\x9bb", "bad_text", id="c1-control"),
    pytest.param("abc\u202egnp.exe", "bad_text", id="rlo"),
    pytest.param("\u202aabc", "bad_text", id="lre"),
    pytest.param("a\u2066b\u2069", "bad_text", id="lri"),
    pytest.param("\u200b\u200b", "required", id="zero-width-only"),
    pytest.param("\u200d\ufeff ", "required", id="invisible-only"),
    pytest.param("   ", "required", id="blank"),
]


@pytest.mark.parametrize(("value", "code"), BAD_TEXT)
def test_one_text_rule_for_names_reasons_and_usernames(staff, merchant_kit, unchanged, value, code):
    mid = merchant_kit.merchant.id
    unchanged.snap()
    probes = [
        ("/api/v1/staff/merchants", onboard_body(730002, legal_name=value), "legal_name"),
        ("/api/v1/staff/merchants", onboard_body(730002, **{"bank_account.holder_name": value}),
         "bank_account.holder_name"),
        (f"/api/v1/staff/merchants/{mid}/adjustments", {"amount": 5, "reason": value}, "reason"),
        (f"/api/v1/staff/merchants/{mid}/holds", {"case_ref": "C1", "reason": value, "amount": 5}, "reason"),
        (f"/api/v1/staff/merchants/{mid}/status", {"status": "suspended", "reason": value}, "reason"),
        (f"/api/v1/staff/merchants/{mid}/api-keys", {"name": value}, "name"),
        (f"/api/v1/staff/merchants/{mid}/users", {"username": value, "password": "Qz7!portal-Pw-2718"}, "username"),
    ]
    for i, (path, body, field) in enumerate(probes):
        assert_error(staff_post(staff, path, body, key=f"txt-{i}"), 400, code, field)
    unchanged()


def test_text_rule_in_the_merchant_api(merchant_kit, unchanged):
    """The account change was the merchant API's one text field; the endpoint now refuses
    every API key before the body is read (issue 11, item 2), whatever the text."""
    unchanged.snap()
    body = {"holder_name": "abc\u202e", "account_number": "31001234567890123", "bank_name": "建行",
            "account_type": "corporate"}
    assert_error(merchant_kit.post("/api/v1/settlement-account/changes", body), 403, "account_change_needs_owner",
                 "authorization")
    unchanged()


@pytest.mark.parametrize(("path_of", "body", "field", "limit"), [
    (lambda mid: f"/api/v1/staff/merchants/{mid}/holds", {"case_ref": "C1", "reason": "r" * 301, "amount": 5},
     "reason", 300),
    (lambda mid: f"/api/v1/staff/merchants/{mid}/holds", {"case_ref": "C" * 41, "reason": "r", "amount": 5},
     "case_ref", 40),
    (lambda mid: f"/api/v1/staff/merchants/{mid}/api-keys", {"name": "n" * 61}, "name", 60),
    (lambda mid: f"/api/v1/staff/merchants/{mid}/users", {"username": "u", "password": "p" * 10_000}, "password",
     128),
    (lambda mid: f"/api/v1/staff/merchants/{mid}/users", {"username": "u" * 61, "password": "Qz7!portal-Pw-2718"},
     "username", 60),
    (lambda mid: f"/api/v1/staff/holds/{NOBODY}/release", {"note": "n" * 301}, "note", 300),
])
def test_over_long_text_is_refused_not_truncated(staff, merchant_kit, unchanged, path_of, body, field, limit):
    unchanged.snap()
    err = assert_error(staff_post(staff, path_of(merchant_kit.merchant.id), body), 400, "too_long", field)
    assert str(limit) in err["message"]
    unchanged()


def test_a_suspended_merchant_cannot_change_its_settlement_account(merchant_kit, unchanged):
    from daozhang.core.errors import DomainError
    from daozhang.settlement.accounts import request_account_change
    from tests.account_helpers import owner_of

    owner = owner_of(merchant_kit.merchant)
    merchants.set_merchant_status(merchant_id=merchant_kit.merchant.id, status="suspended", actor="t", reason="t")
    data = merchants.BankAccountInput(holder_name=merchant_kit.merchant.legal_name, account_number="31001234567890123",
                                      bank_name="中国建设银行", account_type="corporate")
    unchanged.snap()
    with pytest.raises(DomainError) as e:
        request_account_change(merchant_id=merchant_kit.merchant.id, data=data, user_id=owner.user_id, actor="t")
    assert (e.value.code, e.value.field, e.value.status) == ("merchant_not_active", "merchant", 409)
    assert "suspended" in e.value.message("en")
    unchanged()


def staff_calls(mid: str) -> list[tuple[str, str]]:
    return [
        ("post", "/api/v1/staff/merchants"),
        ("get", f"/api/v1/staff/merchants/{mid}"),
        ("post", f"/api/v1/staff/merchants/{mid}/status"),
        ("post", f"/api/v1/staff/merchants/{mid}/api-keys"),
        ("post", f"/api/v1/staff/merchants/{mid}/users"),
        ("post", "/api/v1/staff/terminals"),
        ("post", f"/api/v1/staff/terminals/{NOBODY}/bind"),
        ("post", f"/api/v1/staff/terminals/{NOBODY}/status"),
        ("post", f"/api/v1/staff/merchants/{mid}/holds"),
        ("post", f"/api/v1/staff/holds/{NOBODY}/release"),
        ("post", f"/api/v1/staff/merchants/{mid}/adjustments"),
        ("post", f"/api/v1/staff/batches/{NOBODY}/hold"),
        ("post", f"/api/v1/staff/batches/{NOBODY}/repay"),
    ]


@pytest.mark.parametrize("raw", ["{}", '{"amount": "x", "status": 1}', "[1,2]", "{broken"])
def test_permission_is_checked_before_the_body_is_parsed(merchant_kit, unchanged, raw):
    """A staff token without the permission learns no field names from 400s."""
    user = get_user_model().objects.create_user("cs-agent", "cs@example.com", None, is_staff=True)
    _, token = issue_staff_token(user=user, name="cs")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    unchanged.snap()
    for method, path in staff_calls(str(merchant_kit.merchant.id)):
        if method == "get":
            r = client.get(path + "?junk=%00")
        else:
            r = client.post(path, data=raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="cs")
        assert_error(r, 403, "forbidden", None)
    unchanged()


@pytest.mark.parametrize(("method", "path", "status"), [
    ("get", "/api/v1/nope", 404),
    ("post", "/api/v1/nope", 404),
    ("get", "/api/nope", 404),
    ("get", "/api/v2/payments", 404),
    ("get", "/api/v1/payments/sale", 405),
    ("delete", "/api/v1/payments", 405),
    ("put", "/api/v1/merchant", 405),
    ("patch", "/api/v1/staff/merchants", 405),
    ("options", "/api/v1/payments", 405),
])
def test_every_api_404_and_405_is_json(merchant_kit, method, path, status):
    for lang in ("en", "zh-CN"):
        r = getattr(merchant_kit.client, method)(path, HTTP_ACCEPT_LANGUAGE=lang)
        assert r.status_code == status, (path, r.status_code)
        assert r["Content-Type"].startswith("application/json"), r.content
        err = r.json()["error"]
        assert err["code"] == ("not_found" if status == 404 else "method_not_allowed")
        assert has_cjk(err["message"]) == (lang == "zh-CN")


def test_a_500_outside_the_api_handlers_is_json(merchant_kit, monkeypatch):
    from daozhang.web.middleware import PageLanguageMiddleware

    def boom(self: Any, request: Any) -> Any:
        raise RuntimeError("secret")

    monkeypatch.setattr(PageLanguageMiddleware, "__call__", boom)
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {merchant_kit.api_key}")
    r = client.post("/api/v1/payments/sale", data="{}", content_type="application/json")
    assert r.status_code == 500
    assert r["Content-Type"].startswith("application/json") and b"secret" not in r.content
    assert r.json()["error"]["code"] == "internal"


def test_openapi_states_the_whole_contract():
    from daozhang.api import api

    schema = json.loads(json.dumps(api.get_openapi_schema()))
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            assert {"400", "401"} <= codes, (method, path)
            if method == "post":
                header = [p for p in op["parameters"] if p["in"] == "header" and p["name"] == "Idempotency-Key"]
                assert header and header[0]["required"] and header[0]["schema"]["maxLength"] == 120
                assert {"409", "413", "415", "422"} <= codes, (method, path)
            if "/staff/" in path:
                assert "403" in codes
            for code, answer in op["responses"].items():
                if int(code) >= 400:
                    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
    schemas = schema["components"]["schemas"]
    sale = schemas["SaleIn"]["properties"]
    assert sale["stan"]["pattern"] == "^[0-9]{6}$"
    assert set(sale["channel"]["enum"]) == {"card", "wechat", "alipay"}
    assert set(schemas["OnboardIn"]["properties"]["settlement_cycle"]["enum"]) == {"T1", "D0"}
    assert schemas["OnboardIn"]["properties"]["contact_email"]["maxLength"] == 254
    assert schemas["EnquiryIn"]["properties"]["expected_date"]["format"] == "date"
    limit = next(p for p in schema["paths"]["/api/v1/payments"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 500)


def test_every_catalogue_entry_has_both_languages():
    for code, (en, zh) in CATALOGUE.items():
        assert en.strip() and zh.strip() and has_cjk(zh), code
        assert not has_cjk(en), code




@pytest.mark.parametrize("path", [
    "/api/v1/payments?date_form=2026-01-01",  # a misspelt filter must not export everything
    "/api/v1/payments/export.csv?sttaus=approved",
    "/api/v1/merchant?x=1",
    "/api/v1/trace/days/2026-10-08?lang=en",
])
def test_a_query_parameter_the_operation_does_not_take_is_refused_by_name(merchant_kit, path):
    name = path.split("?")[1].split("=")[0]
    assert_error(merchant_kit.get(path), 400, "unknown_parameter", name)


def test_known_query_parameters_still_pass(merchant_kit):
    assert merchant_kit.get("/api/v1/payments?date_from=2026-01-01&limit=5").status_code == 200
    assert merchant_kit.get("/api/v1/payments/lookup?rrn=123456789012").status_code == 200
