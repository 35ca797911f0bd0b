"""Issue 11, item 7 (log-in), as the attacks that found it: a stranger locking `admin` out
with five wrong passwords, spraying usernames from one address, a password alone reaching
the console, codes replayed, keys and tokens that never die, and no way to see that a
key is still being used."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from daozhang.access import throttle
from daozhang.access.models import ApiKey, StaffToken
from daozhang.access.services import issue_api_key, issue_staff_token
from daozhang.audit.models import AuditEvent
from daozhang.console.roles import ADMIN, CUSTOMER_SERVICE, FINANCE
from tests.portal_helpers import PASSWORD, logged_in, portal_user
from tests.twofactor_helpers import code_at, code_for, enrol

STAFF_PW = "staff-test-pw-2026"
HOME, STRANGER, OFFICE = "198.51.100.7", "203.0.113.66", "192.0.2.10"


class Later:
    """Moves the throttle's clock (security time is its own, see access.throttle._now)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.t = timezone.now()
        monkeypatch.setattr(throttle, "_now", lambda: self.t)

    def __call__(self, seconds: float) -> None:
        self.t += dt.timedelta(seconds=seconds)


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Later:
    return Later(monkeypatch)


def staff(username: str, role: Any = None, **extra: Any) -> Any:
    user = get_user_model().objects.create_user(username, f"{username}@example.com", STAFF_PW, is_staff=True,
                                                **extra)
    if role is not None:
        user.groups.add(Group.objects.get(name=role.group))
    return user


def sign_in(c: Client, username: str, password: str = STAFF_PW) -> Any:
    return c.post("/login/", {"username": username, "password": password})


def wait_in(r: Any) -> int:
    """The "try again in N s" of a refused sign-in page."""
    assert r.status_code == 429, r.status_code
    m = re.search(r"请 (\d+) 秒后再试", r.content.decode())
    assert m, r.content.decode()[:2000]
    assert r["Retry-After"] == m.group(1)
    return int(m.group(1))


# ----------------------------------------------------------------------- throttling

def test_a_strangers_wrong_passwords_do_not_stop_admin_on_their_known_device(db, later):
    staff("admin", is_superuser=True)
    own = Client(REMOTE_ADDR=HOME)
    assert sign_in(own, "admin")["Location"] == "/console/"  # admin's browser is now a known device
    own.post("/logout/")

    stranger = Client(REMOTE_ADDR=STRANGER)
    for _ in range(8):  # the old rule locked admin out after five
        sign_in(stranger, "admin", "guess-" + secrets.token_hex(4))
        later(1)
    assert sign_in(stranger, "admin").status_code == 429  # even the right password waits, for the stranger

    r = sign_in(own, "admin")
    assert r.status_code == 302 and r["Location"] == "/console/"
    assert own.get("/console/").status_code == 200

    # A new browser elsewhere is slowed (the per-username counter), never locked: it waits.
    elsewhere = Client(REMOTE_ADDR=OFFICE)
    wait = wait_in(sign_in(elsewhere, "admin"))
    later(wait)
    assert sign_in(elsewhere, "admin").status_code == 302


def test_wrong_passwords_from_one_place_wait_longer_each_time_in_both_languages(db, later):
    staff("cs1", CUSTOMER_SERVICE)
    c = Client(REMOTE_ADDR=STRANGER)
    for _ in range(5):
        assert sign_in(c, "cs1", "wrong").status_code == 200  # five free failures
    waits = []
    for _ in range(3):
        waits.append(wait_in(sign_in(c, "cs1")))  # refused before the password is looked at
        later(waits[-1])
        assert sign_in(c, "cs1", "wrong").status_code == 200
    assert waits == [2, 4, 8]
    en = Client(REMOTE_ADDR=STRANGER, HTTP_COOKIE="django_language=en")
    body = sign_in(en, "cs1").content.decode()
    assert "Too many failed attempts; try again in 16" in body
    later(16)
    assert sign_in(c, "cs1").status_code == 302  # then the right password gets in: no lock


def test_spraying_many_usernames_from_one_address_is_slowed_and_other_addresses_are_not(db, later):
    staff("finance1", FINANCE)
    sprayer = Client(REMOTE_ADDR=STRANGER)
    for i in range(20):
        assert sign_in(sprayer, f"user{i}", "123456").status_code == 200
    assert wait_in(sign_in(sprayer, "user99", "123456")) == 2
    assert wait_in(sign_in(sprayer, "finance1")) >= 1  # the sprayer's address waits, whatever the name
    assert sign_in(Client(REMOTE_ADDR=OFFICE), "finance1").status_code == 302


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(db, later, settings):
    staff("risk1")
    # Not behind a listed proxy: a forged header does not give the sprayer fresh addresses.
    for i in range(20):
        Client(REMOTE_ADDR=STRANGER, HTTP_X_FORWARDED_FOR=f"10.9.{i}.1").post(
            "/login/", {"username": f"u{i}", "password": "x"})
    assert sign_in(Client(REMOTE_ADDR=STRANGER, HTTP_X_FORWARDED_FOR="10.9.99.1"), "risk1").status_code == 429
    # Behind the listed proxy: the client is the right-most address the proxy did not add.
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    proxied = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"6.6.6.6, {OFFICE}")
    assert sign_in(proxied, "risk1").status_code == 302
    req = Client().get("/").wsgi_request
    req.META.update(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"6.6.6.6, {OFFICE}")
    assert throttle.client_address(req) == OFFICE
    req.META.update(REMOTE_ADDR=STRANGER)
    assert throttle.client_address(req) == STRANGER
    assert throttle.address_subject("2001:db8:1:2:3:4:5:6") == throttle.address_subject("2001:db8:1:2:ffff::1")


def test_an_address_sending_unknown_api_keys_is_slowed_but_a_valid_key_still_works(merchant_kit, later):
    # (dzk_ keys: a dzs_ token on a merchant endpoint is refused by its prefix, before any look-up)
    bad = Client(REMOTE_ADDR=STRANGER, HTTP_ACCEPT_LANGUAGE="zh-CN")
    for _ in range(20):
        r = bad.get("/api/v1/balance", HTTP_AUTHORIZATION="Bearer dzk_" + secrets.token_urlsafe(32))
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    r = bad.get("/api/v1/balance", HTTP_AUTHORIZATION="Bearer dzk_" + secrets.token_urlsafe(32))
    assert r.status_code == 401
    assert r.json()["error"] == {"code": "too_many_attempts", "field": "Authorization",
                                 "message": "失败次数过多，请 2 秒后再试。"}
    ok = bad.get("/api/v1/balance", HTTP_AUTHORIZATION=f"Bearer {merchant_kit.api_key}")
    assert ok.status_code == 200  # a till behind the same NAT keeps working


# ------------------------------------------------------------ expiry, revocation, last use

def _expire(model: Any) -> None:
    model.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))


def test_expired_and_revoked_keys_and_tokens_answer_401_naming_why(merchant_kit):
    user = staff("ops1", is_superuser=True)
    _, token = issue_staff_token(user=user, name="laptop")
    staff_api = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    path = f"/api/v1/staff/merchants/{merchant_kit.merchant.id}"
    assert staff_api.get(path).status_code == 200
    assert StaffToken.objects.get().expires_at > timezone.now() + dt.timedelta(days=89)  # 90 days by default

    _expire(StaffToken)
    r = staff_api.get(path)
    assert r.status_code == 401 and r.json()["error"]["code"] == "credential_expired"
    assert "expired at" in r.json()["error"]["message"]
    _expire(ApiKey)
    r = merchant_kit.get("/api/v1/balance")
    assert r.status_code == 401 and r.json()["error"]["code"] == "credential_expired"
    zh = Client(HTTP_AUTHORIZATION=f"Bearer {merchant_kit.api_key}", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert "已于" in zh.get("/api/v1/balance").json()["error"]["message"]

    key, raw = issue_api_key(merchant=merchant_kit.merchant, name="new", actor="test")
    assert key.expires_at is None  # API keys: no expiry unless DAOZHANG_API_KEY_DAYS
    _, token2 = issue_staff_token(user=user, name="second")
    admin = Client(REMOTE_ADDR=OFFICE)
    admin.force_login(user)
    t2 = StaffToken.objects.get(name="second")
    page = admin.get("/console/tokens/").content.decode()
    assert t2.prefix in page and "已过期" in page
    r = admin.post(f"/console/tokens/{t2.id}/revoke/", {"form_token": "a" * 32})
    assert r.status_code == 302
    r = Client(HTTP_AUTHORIZATION=f"Bearer {token2}").get(path)
    assert r.status_code == 401 and r.json()["error"]["code"] == "credential_revoked"
    assert AuditEvent.objects.filter(action="staff_token.revoke", actor="staff:ops1", object_id=str(t2.id)).exists()
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/balance").status_code == 200


def test_a_staff_member_revokes_only_their_own_tokens_unless_admin(db):
    mine, other = staff("cs2", CUSTOMER_SERVICE), staff("cs3", CUSTOMER_SERVICE)
    issue_staff_token(user=mine, name="mine")
    issue_staff_token(user=other, name="theirs")
    c = Client()
    c.force_login(mine)
    page = c.get("/console/tokens/").content.decode()
    assert ">mine<" in page and ">theirs<" not in page
    theirs = StaffToken.objects.get(name="theirs")
    assert c.post(f"/console/tokens/{theirs.id}/revoke/", {"form_token": "b" * 32}).status_code == 403
    boss = Client()
    boss.force_login(staff("admin2", ADMIN))
    assert ">theirs<" in boss.get("/console/tokens/").content.decode()
    assert boss.post(f"/console/tokens/{theirs.id}/revoke/", {"form_token": "c" * 32}).status_code == 302
    assert StaffToken.objects.get(name="theirs").revoked_at is not None


def test_last_use_is_shown_and_written_at_most_once_a_minute(merchant_kit):
    portal_user(merchant_kit.merchant.id, "owner9")
    till = Client(HTTP_AUTHORIZATION=f"Bearer {merchant_kit.api_key}", REMOTE_ADDR=OFFICE)
    assert till.get("/api/v1/balance").status_code == 200
    key = ApiKey.objects.get(merchant=merchant_kit.merchant)
    assert key.last_used_from == OFFICE and key.last_used_at is not None
    with CaptureQueriesContext(connection) as q:
        assert till.get("/api/v1/balance").status_code == 200
    assert not [x for x in q.captured_queries if x["sql"].lstrip().upper().startswith("UPDATE")]
    ApiKey.objects.update(last_used_at=timezone.now() - dt.timedelta(minutes=2))
    till.get("/api/v1/balance")
    assert ApiKey.objects.get(pk=key.pk).last_used_at > timezone.now() - dt.timedelta(minutes=1)
    page = logged_in("owner9").get("/portal/me/api-keys/").content.decode()
    assert OFFICE in page and "最近使用" in page


# ----------------------------------------------------------------------- second factor

@pytest.fixture
def required(settings: Any) -> None:
    settings.REQUIRE_2FA = True


def test_in_production_a_password_alone_does_not_reach_the_console_or_a_payout(db, settings):
    settings.DAOZHANG_MODE = "production"
    staff("fin2", FINANCE)
    c = Client()
    r = sign_in(c, "fin2")
    assert r.status_code == 302 and r["Location"].startswith("/login/two-factor/")
    for page in ("/console/", "/console/payouts/", "/admin/", "/portal/"):
        r = c.get(page)
        assert r.status_code == 302 and r["Location"].startswith("/login/two-factor/"), page
    body = c.get("/login/two-factor/").content.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', body).group(1)
    assert "<svg" in body and len(secret.replace(" ", "")) == 32
    device = TOTPDevice.objects.get(user__username="fin2", confirmed=False)
    now_step = int(timezone.now().timestamp()) // 30
    assert c.post("/login/two-factor/", {"code": "000000" if code_at(device, now_step) != "000000" else "111111"}
                  ).status_code == 400
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)  # django-otp's 1 s wait, passed
    r = c.post("/login/two-factor/", {"code": code_for("fin2", confirmed=False)})
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", r.content.decode())
    assert r.status_code == 200 and len(codes) == 10 and "no-store" in r["Cache-Control"]
    assert c.get("/console/payouts/").status_code == 200
    assert AuditEvent.objects.filter(action="user.2fa_enrol", actor="staff:fin2").exists()

    # Next sign-in: the password, then a code; a wrong or replayed one is refused.
    c2 = Client()
    assert sign_in(c2, "fin2")["Location"].startswith("/login/verify/")
    assert c2.get("/console/payouts/")["Location"].startswith("/login/verify/")
    used = code_at(device, TOTPDevice.objects.get(pk=device.pk).last_t)
    assert c2.post("/login/verify/", {"code": used}).status_code == 400  # replay of the enrolment code
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.save()
    assert c2.post("/login/verify/", {"code": codes[0]}).status_code == 302  # a backup code, once
    assert c2.get("/console/payouts/").status_code == 200
    c3 = Client()
    sign_in(c3, "fin2")
    assert c3.post("/login/verify/", {"code": codes[0]}).status_code == 400  # used up
    assert c3.get("/console/").status_code == 302


def test_wrong_codes_wait_longer_each_time(db, required, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 30  # django-otp's delay: 30 s after the first wrong code here
    staff("risk2")
    enrol("risk2")
    c = Client()
    sign_in(c, "risk2")
    assert c.post("/login/verify/", {"code": "12345x"}).status_code == 400  # not even digits: a backup code try
    r = c.post("/login/verify/", {"code": "999999" if code_for("risk2") != "999999" else "888888"})
    assert r.status_code == 400
    r = c.post("/login/verify/", {"code": code_for("risk2")})
    assert r.status_code == 429 and "秒后再试" in r.content.decode()  # the right code too, until the wait is over


def test_a_merchant_owner_needs_the_code_when_required_and_a_cashier_does_not(make_merchant, required):
    kit = make_merchant()
    portal_user(kit.merchant.id, "owner5")
    portal_user(kit.merchant.id, "cashier5", role="cashier")
    c = Client()
    r = c.post("/login/", {"username": "owner5", "password": PASSWORD})
    assert r["Location"].startswith("/login/two-factor/")
    assert c.get("/portal/me/api-keys/")["Location"].startswith("/login/two-factor/")
    cashier = logged_in("cashier5")
    assert cashier.get("/portal/payments/").status_code == 200
    enrol("owner5")
    assert logged_in("owner5").get("/portal/me/api-keys/").status_code == 200


def test_the_banner_asks_staff_to_set_it_up_when_it_is_optional(db):
    staff("cs9", CUSTOMER_SERVICE)
    c = Client()
    sign_in(c, "cs9")
    assert 'id="twofactor-banner"' in c.get("/console/").content.decode()  # development, not required
    enrol("cs9")
    c2 = Client()
    assert sign_in(c2, "cs9")["Location"].startswith("/login/verify/")  # enrolled: always asked
    assert c2.post("/login/verify/", {"code": code_for("cs9")}).status_code == 302
    assert 'id="twofactor-banner"' not in c2.get("/console/").content.decode()


def test_staff_reset_an_owners_lost_device_with_the_permission_and_it_is_audited(make_merchant, required):
    kit = make_merchant()
    portal_user(kit.merchant.id, "owner6")
    enrol("owner6")
    owner_id = get_user_model().objects.get(username="owner6").pk
    url = f"/console/merchants/{kit.merchant.id}/users/{owner_id}/two-factor-reset/"

    staff("cs6", CUSTOMER_SERVICE)
    enrol("cs6")
    c = Client()
    sign_in(c, "cs6")
    c.post("/login/verify/", {"code": code_for("cs6")})
    assert c.get(url).status_code == 403

    staff("admin6", ADMIN)
    enrol("admin6")
    a = Client()
    sign_in(a, "admin6")
    assert a.post("/login/verify/", {"code": code_for("admin6")}).status_code == 302
    page = a.get(f"/console/merchants/{kit.merchant.id}/").content.decode()
    assert 'id="twofactor-reset-owner6"' in page
    assert a.post(url, {"reason": "", "form_token": "d" * 32}).status_code == 400  # a reason is required
    assert a.post(url, {"reason": "lost phone, called back on the registered number",
                        "form_token": "e" * 32}).status_code == 302
    assert not TOTPDevice.objects.filter(user_id=owner_id).exists()
    ev = AuditEvent.objects.get(action="user.2fa_reset")
    assert ev.actor == "staff:admin6" and ev.merchant_id == kit.merchant.id and ev.object_id == str(owner_id)
    o = Client()
    assert o.post("/login/", {"username": "owner6", "password": PASSWORD})["Location"].startswith(
        "/login/two-factor/")  # enrols again


def test_counters_are_forgotten_after_the_window(db, later):
    from daozhang.access.models import LoginThrottle
    from daozhang.access.tasks import purge_login_throttle

    for i in range(3):
        sign_in(Client(REMOTE_ADDR=STRANGER), f"nobody{i}", "x")
    assert LoginThrottle.objects.count() == 7  # 3 usernames, 3 pairs, 1 address
    later(30 * 60)
    assert purge_login_throttle.call() == 0
    later(31 * 60)
    assert purge_login_throttle.call() == 7 and not LoginThrottle.objects.exists()


def test_the_page_asked_for_is_reached_after_the_code_and_never_another_site(db, required):
    staff("fin7", FINANCE)
    enrol("fin7")
    c = Client()
    target = "/console/payouts/?state=held&page=1"
    r = c.post("/login/", {"username": "fin7", "password": STAFF_PW, "next": target})
    assert r["Location"] == "/login/verify/?next=%2Fconsole%2Fpayouts%2F%3Fstate%3Dheld%26page%3D1"
    r = c.post(r["Location"], {"code": code_for("fin7"), "next": target})
    assert r["Location"] == target
    c2 = Client()
    c2.post("/login/", {"username": "fin7", "password": STAFF_PW})
    r = c2.post("/login/verify/", {"code": code_for("fin7"), "next": "https://evil.example/"})
    assert r["Location"] == "/console/"


def test_a_staff_member_issues_their_own_token_in_the_console_shown_once_and_audited(db):
    """Tokens were issued only from a shell on the server; now each person issues their
    own (with their own permissions), sees it once, and the issue is in the audit log."""
    from daozhang.access.services import staff_for_token
    from daozhang.audit.models import AuditEvent
    from daozhang.web.once import new_token

    me = staff("cs9", CUSTOMER_SERVICE)
    c = Client()
    c.force_login(me)
    token = new_token()
    first = c.post("/console/tokens/", {"name": "对账脚本", "form_token": token})
    assert first.status_code == 200 and first["Cache-Control"] == "no-store"
    raw = re.search(r'id="new-token-value">(dzs_[^<]+)<', first.content.decode()).group(1)
    issued = StaffToken.objects.get(user=me)
    assert issued.name == "对账脚本" and issued.expires_at is not None and staff_for_token(raw).id == issued.id
    again = c.post("/console/tokens/", {"name": "对账脚本", "form_token": token}).content.decode()  # a double click
    assert raw not in again and StaffToken.objects.filter(user=me).count() == 1  # issued once, shown once
    assert AuditEvent.objects.filter(action="staff_token.issue", actor="staff:cs9").count() == 1
    refused = c.post("/console/tokens/", {"name": "", "form_token": new_token()})
    assert refused.status_code == 400 and StaffToken.objects.filter(user=me).count() == 1
