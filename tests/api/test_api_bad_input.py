"""Bad input gets a clear error naming the field, in the caller's language, and changes nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client

from daozhang.access.services import issue_staff_token
from daozhang.channels.sandbox import SandboxCardNetwork
from daozhang.core.errors import CATALOGUE
from daozhang.merchants import services as merchants
from daozhang.terminals import services as terminals
from tests.conftest import CREDIT_CARD, DEBIT_CARD, MerchantKit, card, valid_uscc

SALE = "/api/v1/payments/sale"
REVERSAL = "/api/v1/payments/reversal"
MISSING = object()


def table_counts() -> dict[str, int]:
    return {m._meta.label: m._base_manager.count() for m in apps.get_models()}


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def assert_error(resp: Any, status: int, code: str, field: str | None) -> dict[str, Any]:
    assert resp.status_code == status, resp.content
    assert b"Traceback" not in resp.content and b"File \"" not in resp.content
    assert resp["Content-Type"].startswith("application/json")
    err = resp.json()["error"]
    assert (err["code"], err["field"]) == (code, field), err
    assert err["message"].strip()
    return err


def sale_body(kit: MerchantKit, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"terminal_id": kit.terminal.terminal_id, "stan": "123456", "amount": 10000,
                            "channel": "card", "entry_mode": "chip", "card_number": DEBIT_CARD}
    for k, v in overrides.items():
        if v is MISSING:
            body.pop(k, None)
        else:
            body[k] = v
    return body


class Unchanged:
    """`snap()` before the bad call, then `unchanged()`: no table gained or lost a row."""

    def __init__(self) -> None:
        self.before: dict[str, int] | None = None

    def snap(self) -> None:
        self.before = table_counts()

    def __call__(self) -> None:
        assert self.before is not None
        assert table_counts() == self.before


@pytest.fixture
def unchanged(db: None) -> Unchanged:
    return Unchanged()


# -------------------------------------------------------------------------- amounts

AMOUNTS = [
    pytest.param(-100, "not_positive", id="negative"),
    pytest.param(-1, "not_positive", id="minus-one"),
    pytest.param(0, "not_positive", id="zero"),
    pytest.param(12.5, "not_integer_fen", id="float"),
    pytest.param(12.0, "not_integer_fen", id="integral-float"),
    pytest.param(1e3, "not_integer_fen", id="exponent-float"),
    pytest.param("100", "not_integer_fen", id="string"),
    pytest.param("12.50", "not_integer_fen", id="yuan-string"),
    pytest.param(True, "not_integer_fen", id="true"),
    pytest.param(False, "not_integer_fen", id="false"),
    pytest.param(None, "not_integer_fen", id="null"),
    pytest.param([100], "not_integer_fen", id="list"),
    pytest.param({"fen": 100}, "not_integer_fen", id="object"),
    pytest.param(10**12, "too_large", id="max-plus-one"),
    pytest.param(10**13, "too_large", id="overflow"),
    pytest.param(10**30, "too_large", id="bigint-overflow"),
    pytest.param(MISSING, "required", id="missing"),
]


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
@pytest.mark.parametrize(("amount", "code"), AMOUNTS)
def test_malformed_sale_amount_is_refused_and_nothing_written(merchant_kit, unchanged, amount, code, lang):
    unchanged.snap()
    r = merchant_kit.post(SALE, sale_body(merchant_kit, amount=amount), HTTP_ACCEPT_LANGUAGE=lang)
    err = assert_error(r, 400, code, "amount")
    if lang == "en":
        assert not has_cjk(err["message"]) and err["message"].isascii(), err
    else:
        assert has_cjk(err["message"]), err
    unchanged()


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
@pytest.mark.parametrize(("amount", "code"), [(0, "not_positive"), (9.99, "not_integer_fen"), ("1", "not_integer_fen"),
                                              (10**13, "too_large")])
def test_malformed_wallet_amount_is_refused(merchant_kit, unchanged, channel, amount, code):
    unchanged.snap()
    code_for = {"wechat": "134567890123456789", "alipay": "2812345678901234"}
    r = merchant_kit.post(SALE, sale_body(merchant_kit, channel=channel, entry_mode="qr", card_number=MISSING,
                                          wallet_auth_code=code_for[channel], amount=amount))
    assert_error(r, 400, code, "amount")
    unchanged()


@pytest.mark.parametrize("amount", [1, 999_999_999_999])
def test_amount_bounds_are_accepted(merchant_kit, amount):
    r = merchant_kit.sale(amount)
    assert r.status_code == 201, r.content
    assert r.json()["amount"] == amount


def test_accept_language_picks_the_message_language(merchant_kit):
    body = sale_body(merchant_kit, amount=-5)
    for header, cjk in [("en-US,en;q=0.9", False), ("zh-CN,zh;q=0.9", True), ("zh-TW", True), ("fr-FR", True),
                        ("de, en;q=0.5", False)]:
        err = assert_error(merchant_kit.post(SALE, body, HTTP_ACCEPT_LANGUAGE=header), 400, "not_positive", "amount")
        assert has_cjk(err["message"]) == cjk, (header, err)
    # No Accept-Language at all: zh-CN is the default.
    c = Client(HTTP_AUTHORIZATION=f"Bearer {merchant_kit.api_key}")
    r = c.post(SALE, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY="no-lang")
    assert has_cjk(assert_error(r, 400, "not_positive", "amount")["message"])


@pytest.mark.parametrize(("amount", "code"), [(0, "not_positive"), (-3, "not_positive"), (1.5, "not_integer_fen"),
                                              ("5", "not_integer_fen"), (10**13, "too_large")])
def test_malformed_reversal_amount_is_refused(merchant_kit, unchanged, amount, code):
    sale = merchant_kit.sale(10000).json()
    unchanged.snap()
    r = merchant_kit.post(REVERSAL, {"terminal_id": merchant_kit.terminal.terminal_id,
                                     "original_stan": sale["stan"], "amount": amount})
    assert_error(r, 400, code, "amount")
    unchanged()
    assert merchant_kit.get(f"/api/v1/payments/{sale['id']}").json()["status"] == "approved"


# --------------------------------------------------------------------- sale payloads


BAD_SALES = [
    pytest.param({"terminal_id": "ZZZZ9999"}, 404, "unknown_terminal", "terminal_id", id="unknown-terminal"),
    pytest.param({"terminal_id": ""}, 400, "invalid", "terminal_id", id="empty-terminal"),
    pytest.param({"terminal_id": "T000-001"}, 400, "invalid", "terminal_id", id="terminal-dash"),
    pytest.param({"terminal_id": MISSING}, 400, "required", "terminal_id", id="missing-terminal"),
    pytest.param({"stan": "12345"}, 400, "invalid", "stan", id="stan-5-digits"),
    pytest.param({"stan": "1234567"}, 400, "invalid", "stan", id="stan-7-digits"),
    pytest.param({"stan": "12345a"}, 400, "invalid", "stan", id="stan-letter"),
    pytest.param({"stan": " 12345"}, 400, "invalid", "stan", id="stan-space"),
    pytest.param({"stan": ""}, 400, "invalid", "stan", id="stan-empty"),
    pytest.param({"stan": 123456}, 400, "invalid", "stan", id="stan-number"),
    pytest.param({"stan": MISSING}, 400, "required", "stan", id="stan-missing"),
    pytest.param({"card_number": DEBIT_CARD[:-1] + str((int(DEBIT_CARD[-1]) + 1) % 10)}, 400, "bad_card_number",
                 "card_number", id="card-luhn"),
    pytest.param({"card_number": "4111"}, 400, "bad_card_number", "card_number", id="card-too-short"),
    pytest.param({"card_number": "4" * 20}, 400, "bad_card_number", "card_number", id="card-too-long"),
    pytest.param({"card_number": "6222-02ab-cdef-0000"}, 400, "bad_card_number", "card_number", id="card-letters"),
    pytest.param({"card_number": int(DEBIT_CARD)}, 400, "invalid", "card_number", id="card-as-number"),
    pytest.param({"card_number": MISSING}, 400, "required", "card_number", id="card-missing"),
    pytest.param({"card_number": ""}, 400, "required", "card_number", id="card-empty"),
    pytest.param({"wallet_auth_code": "134567890123456789"}, 400, "channel_mismatch", "wallet_auth_code",
                 id="wallet-code-on-card"),
    pytest.param({"entry_mode": "qr"}, 400, "invalid", "entry_mode", id="card-with-qr"),
    pytest.param({"entry_mode": "tap"}, 400, "invalid", "entry_mode", id="unknown-entry-mode"),
    pytest.param({"channel": "unionpay"}, 400, "invalid", "channel", id="unknown-channel"),
    pytest.param({"channel": MISSING}, 400, "required", "channel", id="channel-missing"),
    pytest.param({"channel": "wechat", "entry_mode": "qr", "wallet_auth_code": "134567890123456789"}, 400,
                 "channel_mismatch", "card_number", id="card-number-on-wechat"),
    pytest.param({"channel": "alipay", "entry_mode": "qr", "wallet_auth_code": "2812345678901234"}, 400,
                 "channel_mismatch", "card_number", id="card-number-on-alipay"),
    pytest.param({"channel": "wechat", "entry_mode": "qr", "card_number": MISSING,
                  "wallet_auth_code": "12345"}, 400, "invalid", "wallet_auth_code", id="wechat-code-short"),
    pytest.param({"channel": "wechat", "entry_mode": "qr", "card_number": MISSING,
                  "wallet_auth_code": "2812345678901234"}, 400, "invalid", "wallet_auth_code",
                 id="alipay-code-on-wechat"),
    pytest.param({"channel": "alipay", "entry_mode": "qr", "card_number": MISSING,
                  "wallet_auth_code": "134567890123456789"}, 400, "invalid", "wallet_auth_code",
                 id="wechat-code-on-alipay"),
    pytest.param({"channel": "wechat", "entry_mode": "qr", "card_number": MISSING}, 400, "invalid",
                 "wallet_auth_code", id="wallet-code-missing"),
    pytest.param({"channel": "wechat", "entry_mode": "chip", "card_number": MISSING,
                  "wallet_auth_code": "134567890123456789"}, 400, "invalid", "entry_mode", id="wechat-with-chip"),
]


@pytest.mark.parametrize(("overrides", "status", "code", "field"), BAD_SALES)
def test_bad_sale_payload_names_the_field_and_writes_nothing(merchant_kit, unchanged, overrides, status, code,
                                                             field):
    unchanged.snap()
    err = assert_error(merchant_kit.post(SALE, sale_body(merchant_kit, **overrides)), status, code, field)
    assert DEBIT_CARD not in json.dumps(err)
    unchanged()


def test_sale_on_another_merchants_terminal_is_unknown(make_merchant, unchanged):
    a, b = make_merchant(), make_merchant()
    unchanged.snap()
    assert_error(a.post(SALE, sale_body(a, terminal_id=b.terminal.terminal_id)), 404, "unknown_terminal",
                 "terminal_id")
    unchanged()


@pytest.mark.parametrize("status", ["suspended", "in_stock"])
def test_sale_on_a_terminal_that_is_not_active_is_refused(merchant_kit, unchanged, status):
    terminals.set_terminal_status(terminal_id=merchant_kit.terminal.id, status=status, actor="test")
    unchanged.snap()
    r = merchant_kit.post(SALE, sale_body(merchant_kit))
    if status == "in_stock":  # unbound: no longer the merchant's terminal at all
        assert_error(r, 404, "unknown_terminal", "terminal_id")
    else:
        err = assert_error(r, 409, "terminal_not_active", "terminal_id")
        assert "suspended" in err["message"]
    unchanged()


def test_sale_on_a_bound_but_not_activated_terminal_is_refused(merchant_kit, unchanged):
    t = terminals.register_terminal(serial_number="SN-BAD-BOUND", terminal_id="BOUND001", model="", actor="t")
    terminals.bind_terminal(terminal_id=t.id, merchant_id=merchant_kit.merchant.id, install_address="", actor="t")
    unchanged.snap()
    assert_error(merchant_kit.post(SALE, sale_body(merchant_kit, terminal_id="BOUND001")), 409,
                 "terminal_not_active", "terminal_id")
    unchanged()


def test_sale_of_a_suspended_merchant_is_refused(merchant_kit, unchanged):
    merchants.set_merchant_status(merchant_id=merchant_kit.merchant.id, status="suspended", actor="t", reason="t")
    unchanged.snap()
    assert_error(merchant_kit.post(SALE, sale_body(merchant_kit)), 409, "merchant_not_active", "merchant")
    unchanged()


@pytest.mark.parametrize("stan", ["123456\n", "\uff11\uff12\uff13\uff14\uff15\uff16",
                                  "\u0661\u0662\u0663\u0664\u0665\u0666"],
                         ids=["trailing-newline", "fullwidth-digits", "arabic-indic-digits"])
def test_stan_must_be_six_ascii_digits(merchant_kit, unchanged, monkeypatch, stan):
    calls: list[object] = []
    real = SandboxCardNetwork.authorize

    def spy(self, req):  # type: ignore[no-untyped-def]
        calls.append(req.stan)
        return real(self, req)

    monkeypatch.setattr(SandboxCardNetwork, "authorize", spy)
    unchanged.snap()
    r = merchant_kit.post(SALE, sale_body(merchant_kit, stan=stan))
    assert calls == [], f"the card was authorised at the channel (HTTP {r.status_code})"
    assert_error(r, 400, "invalid", "stan")
    unchanged()


@pytest.mark.parametrize("code", ["134567890123456789\n", "1345678901234567\uff18\uff19"],
                         ids=["trailing-newline", "fullwidth-digit"])
def test_wallet_code_must_be_ascii_digits(merchant_kit, unchanged, code):
    unchanged.snap()
    r = merchant_kit.post(SALE, sale_body(merchant_kit, channel="wechat", entry_mode="qr", card_number=MISSING,
                                          wallet_auth_code=code))
    assert_error(r, 400, "invalid", "wallet_auth_code")
    unchanged()


def test_nul_in_terminal_id_is_a_clean_400(merchant_kit, unchanged, request):
    unchanged.snap()
    assert_error(merchant_kit.post(SALE, sale_body(merchant_kit, terminal_id="T\x00")), 400, "invalid",
                 "terminal_id")
    unchanged()


def test_nul_in_lookup_rrn_is_not_a_server_error(merchant_kit, request):
    r = merchant_kit.get("/api/v1/payments/lookup", rrn="12\x0034")
    assert r.status_code < 500, r.content


# --------------------------------------------------------------------- request bodies


@pytest.mark.parametrize(("raw", "content_type"), [
    pytest.param("{not json", "application/json", id="broken-json"),
    pytest.param('{"amount": 100,}', "application/json", id="trailing-comma"),
])
def test_unparseable_body_is_invalid_json_naming_the_body(merchant_kit, unchanged, raw, content_type):
    unchanged.snap()
    r = merchant_kit.client.post(SALE, data=raw, content_type=content_type, HTTP_IDEMPOTENCY_KEY="bad-json")
    assert_error(r, 400, "invalid_json", "body")
    unchanged()


def test_unparseable_body_is_a_400_without_a_traceback(merchant_kit, unchanged):
    """What holds today, whatever the code: a clean 400, no echo, nothing written."""
    unchanged.snap()
    r = merchant_kit.client.post(SALE, data='{"card_number": "' + DEBIT_CARD + '",', content_type="application/json",
                                 HTTP_IDEMPOTENCY_KEY="bad-json")
    assert r.status_code == 400 and b"Traceback" not in r.content and DEBIT_CARD.encode() not in r.content
    assert r.json()["error"]["code"] in ("invalid", "invalid_json")
    unchanged()


@pytest.mark.parametrize(("raw", "field"), [("", "body"), ("{}", "terminal_id")])
def test_empty_body_is_required_field(merchant_kit, unchanged, raw, field):
    unchanged.snap()
    r = merchant_kit.client.post(SALE, data=raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="b")
    assert_error(r, 400, "required", field)
    unchanged()


@pytest.mark.parametrize("raw", ["[]", "null", '"sale"', "[1, 2]", "12"])
def test_a_body_that_is_not_a_json_object_is_refused(merchant_kit, unchanged, raw):
    unchanged.snap()
    r = merchant_kit.client.post(SALE, data=raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="b")
    assert_error(r, 400, "not_an_object", "body")
    unchanged()


def test_unexpected_server_error_is_clean_500_with_a_reference(merchant_kit, unchanged, monkeypatch):
    def boom(self, req):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(SandboxCardNetwork, "authorize", boom)
    unchanged.snap()
    for lang in ("en", "zh-CN"):
        r = merchant_kit.post(SALE, sale_body(merchant_kit), HTTP_ACCEPT_LANGUAGE=lang)
        err = assert_error(r, 500, "internal", None)
        assert b"secret internal detail" not in r.content and b"RuntimeError" not in r.content
        assert has_cjk(err["message"]) == (lang == "zh-CN")
    unchanged()


# ---------------------------------------------------------------- void and reversal


def test_void_bad_input(make_merchant, unchanged):
    kit = make_merchant()
    tid = kit.terminal.terminal_id
    declined = kit.sale(10051).json()
    approved = kit.sale(10000).json()
    t2 = terminals.register_terminal(serial_number="SN-BAD-T2", terminal_id="VOIDT002", model="", actor="t")
    terminals.bind_terminal(terminal_id=t2.id, merchant_id=kit.merchant.id, install_address="", actor="t")
    terminals.set_terminal_status(terminal_id=t2.id, status="active", actor="t")
    unchanged.snap()
    assert_error(kit.post("/api/v1/payments/not-a-uuid/void", {"terminal_id": tid}), 400, "invalid", "payment_id")
    assert_error(kit.post(f"/api/v1/payments/{approved['id']}/void", {}), 400, "required", "terminal_id")
    assert_error(kit.client.post(f"/api/v1/payments/{approved['id']}/void", data="",
                                 content_type="application/json", HTTP_IDEMPOTENCY_KEY="v"), 400, "required", "body")
    assert_error(kit.post("/api/v1/payments/00000000-0000-7000-8000-000000000000/void", {"terminal_id": tid}), 404,
                 "not_found", "payment_id")
    assert_error(kit.post(f"/api/v1/payments/{approved['id']}/void", {"terminal_id": "NOPE0000"}), 404,
                 "unknown_terminal", "terminal_id")
    assert_error(kit.post(f"/api/v1/payments/{approved['id']}/void", {"terminal_id": "VOIDT002"}), 409,
                 "void_not_allowed", "terminal_id")
    err = assert_error(kit.post(f"/api/v1/payments/{declined['id']}/void", {"terminal_id": tid}), 409,
                       "void_not_allowed", "payment_id")
    assert "declined" in err["message"]
    unchanged()


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    ({"original_stan": "12345"}, 400, "invalid", "original_stan"),
    ({"original_stan": "abcdef"}, 400, "invalid", "original_stan"),
    ({"original_stan": MISSING}, 400, "required", "original_stan"),
    ({"terminal_id": "NOPE0000"}, 404, "unknown_terminal", "terminal_id"),
    ({"terminal_id": MISSING}, 400, "required", "terminal_id"),
])
def test_reversal_bad_input(merchant_kit, unchanged, body, status, code, field):
    full = {"terminal_id": merchant_kit.terminal.terminal_id, "original_stan": "000777", **body}
    full = {k: v for k, v in full.items() if v is not MISSING}
    unchanged.snap()
    assert_error(merchant_kit.post(REVERSAL, full), status, code, field)
    unchanged()


# ------------------------------------------------------------------ reads and filters


@pytest.mark.parametrize(("params", "code", "field"), [
    ({"status": "paid"}, "invalid", "status"),
    ({"channel": "visa"}, "invalid", "channel"),
    ({"amount_min": -1}, "not_positive", "amount_min"),
    ({"amount_max": "1.5"}, "not_integer_fen", "amount_max"),
    ({"amount_min": "ten"}, "not_integer_fen", "amount_min"),
    ({"amount_min": 500, "amount_max": 100}, "amount_range", "amount_min"),
    ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "date_range", "date_from"),
    ({"date_from": "2026-13-01"}, "bad_date", "date_from"),
    ({"date_to": "yesterday"}, "bad_date", "date_to"),
    ({"last4": "12"}, "bad_last4", "last4"),
    ({"last4": "12a4"}, "bad_last4", "last4"),
    ({"last4": "12345"}, "bad_last4", "last4"),
])
@pytest.mark.parametrize("path", ["/api/v1/payments", "/api/v1/payments/export.csv"])
def test_bad_list_and_export_filters_name_the_field(merchant_kit, path, params, code, field):
    merchant_kit.sale(10000)
    r = merchant_kit.get(path, **params)
    assert_error(r, 400, code, field)


@pytest.mark.parametrize(("params", "field"), [({"limit": 0}, "limit"), ({"limit": 501}, "limit"),
                                               ({"limit": "all"}, "limit"), ({"cursor": "garbage"}, "cursor"),
                                               ({"cursor": "bm90fGEtdXVpZA=="}, "cursor")])
def test_bad_paging_names_the_field(merchant_kit, params, field):
    assert_error(merchant_kit.get("/api/v1/payments", **params), 400, "invalid", field)


def test_bad_lookup_and_detail(merchant_kit):
    assert_error(merchant_kit.get("/api/v1/payments/lookup"), 400, "required", "rrn")
    assert_error(merchant_kit.get("/api/v1/payments/lookup", terminal_id=merchant_kit.terminal.terminal_id), 400,
                 "required", "rrn")
    assert_error(merchant_kit.get("/api/v1/payments/lookup", rrn="1", business_date="2026-02-30"), 400, "bad_date",
                 "business_date")
    assert_error(merchant_kit.get("/api/v1/payments/12345"), 400, "invalid", "payment_id")
    assert_error(merchant_kit.get("/api/v1/payments/00000000-0000-7000-8000-000000000000"), 404, "not_found",
                 "payment_id")


# ------------------------------------------------------------------- staff onboarding


def personal_card_account() -> str:
    return card("621700123456789012")  # 19 digits, Luhn-valid


def onboard_body(n: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "legal_name": f"输入测试商户{n}有限公司", "short_name": f"输入{n}", "uscc": valid_uscc(n), "mcc": "5812",
        "region_code": "2900", "contact_name": "王五", "contact_phone": "13712345678",
        "bank_account": {"holder_name": "王五", "account_number": personal_card_account(),
                         "bank_name": "中国建设银行", "account_type": "personal"},
    }
    for k, v in overrides.items():
        if k.startswith("bank_account."):
            body["bank_account"][k.split(".", 1)[1]] = v
        elif v is MISSING:
            body.pop(k)
        else:
            body[k] = v
    return body


@pytest.fixture
def staff(db: None) -> Client:
    user = get_user_model().objects.create_superuser("input-boss", "b@example.com", None)
    _, raw = issue_staff_token(user=user, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")


def staff_post(client: Client, path: str, body: dict[str, Any], key: str = "onb", **headers: str) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key,
                       **headers)


def _bad_uscc() -> str:
    good = valid_uscc(720001)
    return good[:-1] + ("0" if good[-1] != "0" else "1")


BAD_ONBOARDING = [
    pytest.param({"uscc": _bad_uscc()}, "bad_uscc", "uscc", id="uscc-check-digit"),
    pytest.param({"uscc": "91310000ABC"}, "bad_uscc", "uscc", id="uscc-short"),
    pytest.param({"uscc": ""}, "bad_uscc", "uscc", id="uscc-empty"),
    pytest.param({"contact_phone": "12345"}, "bad_phone", "contact_phone", id="phone-short"),
    pytest.param({"contact_phone": "+14155552671"}, "bad_phone", "contact_phone", id="phone-us"),
    pytest.param({"contact_phone": "not a phone"}, "bad_phone", "contact_phone", id="phone-text"),
    pytest.param({"mcc": "0000"}, "bad_mcc", "mcc", id="mcc-unknown"),
    pytest.param({"mcc": "58a2"}, "bad_mcc", "mcc", id="mcc-letters"),
    pytest.param({"bank_account.account_number": personal_card_account()[:-1]
                  + str((int(personal_card_account()[-1]) + 1) % 10)}, "bad_bank_account",
                 "bank_account.account_number", id="personal-account-luhn"),
    pytest.param({"bank_account.account_number": "6217001234"}, "bad_bank_account",
                 "bank_account.account_number", id="personal-account-short"),
    pytest.param({"bank_account.account_number": "6217-00ab-1234-5678"}, "bad_bank_account",
                 "bank_account.account_number", id="account-letters"),
    pytest.param({"bank_account.account_type": "offshore"}, "invalid", "bank_account.account_type",
                 id="account-type"),
    pytest.param({"bank_account.holder_name": "  "}, "required", "bank_account.holder_name", id="holder-blank"),
    pytest.param({"region_code": "29"}, "invalid", "region_code", id="region-short"),
    pytest.param({"legal_name": ""}, "required", "legal_name", id="legal-name-empty"),
    pytest.param({"legal_name": "名" * 201}, "too_long", "legal_name", id="legal-name-too-long"),
    pytest.param({"legal_name": MISSING}, "required", "legal_name", id="legal-name-missing"),
    pytest.param({"bank_account": MISSING}, "required", "bank_account", id="bank-account-missing"),
    pytest.param({"settlement_cycle": "T7"}, "invalid", "settlement_cycle", id="settlement-cycle"),
    pytest.param({"fee_plan": "free"}, "invalid", "fee_plan", id="fee-plan"),
]


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
@pytest.mark.parametrize(("overrides", "code", "field"), BAD_ONBOARDING)
def test_bad_onboarding_names_the_field_and_writes_nothing(staff, unchanged, overrides, code, field, lang):
    unchanged.snap()
    r = staff_post(staff, "/api/v1/staff/merchants", onboard_body(720001, **overrides), HTTP_ACCEPT_LANGUAGE=lang)
    err = assert_error(r, 400, code, field)
    en, zh = CATALOGUE[code]
    assert err["message"].startswith((zh if lang == "zh-CN" else en).split("{")[0]), err
    unchanged()


@pytest.mark.parametrize(("overrides", "lang"), [
    ({"bank_account.account_number": "6217-00ab"}, "en"),
    ({"uscc": "91310000ABC"}, "zh-CN"),
], ids=["bank-account-en", "uscc-zh"])
def test_onboarding_error_message_is_in_one_language(staff, overrides, lang):
    r = staff_post(staff, "/api/v1/staff/merchants", onboard_body(720004, **overrides), HTTP_ACCEPT_LANGUAGE=lang)
    message = r.json()["error"]["message"]
    if lang == "en":
        assert not has_cjk(message), message
    else:
        assert not re.search(r"[A-Za-z]{3,}", message.replace("USCC", "")), message


def test_onboarding_a_duplicate_uscc_is_refused(staff, unchanged):
    assert staff_post(staff, "/api/v1/staff/merchants", onboard_body(720002), key="first").status_code == 201
    unchanged.snap()
    again = onboard_body(720002, legal_name="另一家公司")
    assert_error(staff_post(staff, "/api/v1/staff/merchants", again, key="second"), 400, "duplicate", "uscc")
    unchanged()


def test_good_onboarding_body_is_accepted(staff):
    """The baseline the bad cases are variations of, so each of them fails for its own reason only."""
    r = staff_post(staff, "/api/v1/staff/merchants", onboard_body(720003))
    assert r.status_code == 201, r.content
    assert r.json()["settlement_account"].endswith("王五")
    assert personal_card_account() not in r.content.decode()


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"serial_number": "x", "terminal_id": "GOODT001"}, "invalid", "serial_number"),
    ({"serial_number": "SN-GOOD-001", "terminal_id": "SHORT"}, "invalid", "terminal_id"),
    ({"serial_number": "SN-GOOD-001", "terminal_id": "BAD_T001"}, "invalid", "terminal_id"),
    ({"terminal_id": "GOODT001"}, "required", "serial_number"),
])
def test_bad_terminal_registration_names_the_field(staff, unchanged, body, code, field):
    unchanged.snap()
    assert_error(staff_post(staff, "/api/v1/staff/terminals", body), 400, code, field)
    unchanged()


def test_bad_staff_status_changes(staff, merchant_kit, unchanged):
    mid, tpk = merchant_kit.merchant.id, merchant_kit.terminal.id
    unchanged.snap()
    assert_error(staff_post(staff, f"/api/v1/staff/merchants/{mid}/status", {"status": "frozen", "reason": "x"}),
                 400, "invalid", "status")
    assert_error(staff_post(staff, f"/api/v1/staff/merchants/{mid}/status", {"status": "closed"}),
                 400, "required", "reason")
    assert_error(staff_post(staff, "/api/v1/staff/merchants/00000000-0000-7000-8000-000000000000/status",
                            {"status": "suspended", "reason": "x"}), 404, "unknown_merchant", "merchant_id")
    assert_error(staff_post(staff, f"/api/v1/staff/terminals/{tpk}/status", {"status": "bound"}), 400, "invalid",
                 "status")
    assert_error(staff_post(staff, f"/api/v1/staff/terminals/{tpk}/status", {"status": "retired"}), 409,
                 "bad_transition", "status")
    assert_error(staff_post(staff, f"/api/v1/staff/terminals/{tpk}/bind", {"merchant_id": str(mid)}), 409,
                 "terminal_bound", "terminal_id")
    assert_error(staff_post(staff, f"/api/v1/staff/terminals/{tpk}/bind", {"merchant_id": "nope"}), 400, "invalid",
                 "merchant_id")
    unchanged()


def test_no_error_response_echoes_a_card_number(merchant_kit):
    """Error bodies never repeat the input back: it may hold a card number."""
    bodies = [
        sale_body(merchant_kit, card_number=CREDIT_CARD, amount=1.5),
        sale_body(merchant_kit, card_number=CREDIT_CARD, terminal_id="NOPE0000"),
        sale_body(merchant_kit, card_number=int(CREDIT_CARD)),
        sale_body(merchant_kit, card_number=CREDIT_CARD[:-1] + "x"),
        sale_body(merchant_kit, card_number=CREDIT_CARD, channel="wechat", entry_mode="qr",
                  wallet_auth_code="134567890123456789"),
    ]
    for body in bodies:
        r = merchant_kit.post(SALE, body)
        assert r.status_code >= 400
        assert CREDIT_CARD[:-1].encode() not in r.content


@pytest.mark.parametrize(("amount", "code"), [(0, "zero_adjustment"), (12.5, "not_integer_fen")])
def test_bad_adjustment_amounts_name_the_reason(staff, merchant_kit, unchanged, amount, code):
    unchanged.snap()
    r = staff_post(staff, f"/api/v1/staff/merchants/{merchant_kit.merchant.id}/adjustments",
                   {"amount": amount, "reason": "probe"}, key=f"adj-{amount}")
    assert_error(r, 400, code, "amount")
    unchanged()
