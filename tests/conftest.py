"""Shared fixtures: merchants, terminals and API clients built through the real services."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from stdnum import luhn
from stdnum.cn import uscc as stdnum_uscc

from daozhang.access.services import issue_api_key, issue_staff_token
from daozhang.core import clock
from daozhang.merchants import services as merchants
from daozhang.merchants.models import Merchant
from daozhang.terminals import services as terminals
from daozhang.terminals.models import Terminal
from tests.outbox_support import T0

_seq = itertools.count(1)

# Tests that check what does not depend on the database, marked `one_database` so that
# `make test` runs them in its SQLite pass only (the product's default database), not again
# on PostgreSQL: the browser tests (tests/browser/) look at pages, their layout and their
# accessibility in Chromium, about a minute and a half per pass for what a second database
# cannot change. schemathesis is not here: it is how a value the database refuses (a string
# longer than its column on PostgreSQL, an integer past 64 bits on SQLite) is found before
# it answers 500, so it runs on both (decision 0012).
_BROWSER_TESTS = Path(__file__).parent / "browser"


def pytest_configure(config: pytest.Config) -> None:
    # Passwords hashed in one PBKDF2 iteration, not a million (a second each): the suite
    # makes hundreds of users. The hashes stay Django's own format (daozhang.testing.hashers).
    from django.conf import settings
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm

    settings.PASSWORD_HASHERS = ["daozhang.testing.hashers.OneIterationPBKDF2PasswordHasher",
                                 *settings.PASSWORD_HASHERS]
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(_BROWSER_TESTS):
            item.add_marker(pytest.mark.one_database)


def valid_uscc(n: int, entity: str = "91") -> str:
    """A valid unified social credit code; entity "91" a company, "92" an individual business (个体工商户)."""
    base = f"{entity}310000{500000000 + n:09d}"
    return base + stdnum_uscc.calc_check_digit(base)


def card(body: str = "622202123456789") -> str:
    """A Luhn-valid test PAN (6222… debit; 6258… credit in the sandbox)."""
    return body + str(luhn.calc_check_digit(body))


DEBIT_CARD = card("622202123456789")
CREDIT_CARD = card("625807123456789")


def onboarding(n: int, **overrides: Any) -> merchants.OnboardingInput:
    data: dict[str, Any] = {
        "legal_name": f"测试商户{n}有限公司", "short_name": f"测试{n}", "uscc": valid_uscc(n),
        "mcc": "5812", "region_code": "2900", "contact_name": "张三", "contact_phone": "13812345678",
        "bank_account": merchants.BankAccountInput(
            holder_name=f"测试商户{n}有限公司", account_number="31001234567890123",
            bank_name="中国建设银行", account_type="corporate"),
    }
    data.update(overrides)
    return merchants.OnboardingInput(**data)


@dataclass
class MerchantKit:
    merchant: Merchant
    terminal: Terminal
    api_key: str
    client: Client

    def post(self, path: str, body: dict[str, Any], key: str | None = None, **headers: str) -> Any:
        extra = {"HTTP_IDEMPOTENCY_KEY": key or f"k-{next(_seq)}"} if key != "" else {}
        extra.update(headers)
        return self.client.post(path, data=json.dumps(body), content_type="application/json", **extra)

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params)

    def sale(self, amount: int = 10000, *, channel: str = "card", entry_mode: str = "chip",
             pan: str | None = DEBIT_CARD, stan: str | None = None, key: str | None = None,
             terminal_id: str | None = None) -> Any:
        body: dict[str, Any] = {
            "terminal_id": terminal_id or self.terminal.terminal_id,
            "stan": stan or f"{next(_seq) % 1000000:06d}",
            "amount": amount, "channel": channel, "entry_mode": entry_mode,
        }
        if channel == "card":
            body["card_number"] = pan
        else:
            body["wallet_auth_code"] = "134567890123456789" if channel == "wechat" else "2812345678901234"
        return self.post("/api/v1/payments/sale", body, key=key)


@pytest.fixture
def make_merchant(db: None) -> Callable[..., MerchantKit]:
    """A merchant with one active terminal and an API client authenticated as it."""

    def make(**overrides: Any) -> MerchantKit:
        n = next(_seq)
        m = merchants.onboard_merchant(data=onboarding(n, **overrides), actor="test")
        t = terminals.register_terminal(serial_number=f"SN-TEST-{n:05d}", terminal_id=f"T{n:07d}",
                                        model="test", actor="test")
        terminals.bind_terminal(terminal_id=t.id, merchant_id=m.id, install_address="test", actor="test")
        t = terminals.set_terminal_status(terminal_id=t.id, status="active", actor="test")
        _, raw = issue_api_key(merchant=m, name="test", actor="test")
        client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")
        return MerchantKit(m, t, raw, client)

    return make


@pytest.fixture
def merchant_kit(make_merchant: Callable[..., MerchantKit]) -> MerchantKit:
    return make_merchant()


@pytest.fixture
def staff_client(db: None) -> Client:
    """A superuser's API client (staff token)."""
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "x-very-long-pw-1")
    _, raw = issue_staff_token(user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def child_env(transactional_db: None, settings: Any) -> dict[str, str]:
    """Environment for a real child process (`daozhang worker`, …) on the test database."""
    import os

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{db['NAME']}"
    else:
        url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "DAOZHANG_UNKNOWN_REVERSAL_SECONDS": "0"}


@pytest.fixture
def deliver_outbox(db: None) -> Callable[[], Any]:
    """Run the worker's outbox delivery in the test's process, until nothing is due:
    services only record events (core.events); messages exist once this has run."""
    from daozhang.core.events import deliver_all

    return deliver_all


@pytest.fixture
def hand_clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A clock the test moves by hand from T0 (back-off and retries are measured on it)."""
    box = {"t": T0}
    monkeypatch.setattr(clock, "now", lambda: box["t"])

    class Now:
        def advance(self, seconds: float) -> None:
            box["t"] += dt.timedelta(seconds=seconds)

    return Now()
