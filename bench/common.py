"""What every benchmark phase shares: Django start-up, shops made through the services, sale inputs, timing."""

from __future__ import annotations

import itertools
import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from stdnum import luhn

# Amount tails the sandbox turns into declines, failures or unknowns (channels/sandbox.py).
_SANDBOX_TRIGGERS = {5, 51, 55, 96, 97, 98}


def setup_django(url: str, settings_module: str = "bench.settings") -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ.setdefault("DAOZHANG_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def card(body: str) -> str:
    return body + str(luhn.calc_check_digit(body))


DEBIT_CARD = card("622202123456789")  # the sandbox calls 6222… debit
CREDIT_CARD = card("625807123456789")  # and 6258… credit


def amount(rng: random.Random) -> int:
    """A shop-like amount, 10 to 2,000 CNY, that the sandbox approves (fee never rounds to 0)."""
    fen = rng.randint(1_000, 200_000)
    while fen % 100 in _SANDBOX_TRIGGERS:
        fen += 1
    return fen


# The online mix: debit chip, credit QuickPass, WeChat Pay and Alipay QR, in turn.
MIX = (("card", "chip", DEBIT_CARD), ("card", "contactless", CREDIT_CARD), ("wechat", "qr", None),
       ("alipay", "qr", None))


def sale_fields(i: int, rng: random.Random) -> dict[str, Any]:
    channel, mode, pan = MIX[i % len(MIX)]
    body: dict[str, Any] = {"stan": f"{i % 1_000_000:06d}", "amount": amount(rng), "channel": channel,
                            "entry_mode": mode}
    if channel == "card":
        body["card_number"] = pan
    elif channel == "wechat":
        body["wallet_auth_code"] = f"13{rng.randrange(10**16):016d}"
    else:
        body["wallet_auth_code"] = f"28{rng.randrange(10**14):014d}"
    return body


@dataclass(frozen=True)
class Shop:
    """A merchant with one active terminal and an API key, made through the real services."""

    merchant_id: Any
    merchant_no: str
    terminal_pk: Any
    terminal_id: str
    api_key: str


_shop_seq = itertools.count(1)


def _uscc(n: int) -> str:
    from stdnum.cn import uscc

    base = f"91310000{600000000 + n:09d}"
    return base + uscc.calc_check_digit(base)


def make_shops(count: int) -> list[Shop]:
    from daozhang.access.services import issue_api_key
    from daozhang.merchants import services as merchants
    from daozhang.terminals import services as terminals

    shops = []
    for _ in range(count):
        n = next(_shop_seq)
        m = merchants.onboard_merchant(
            data=merchants.OnboardingInput(
                legal_name=f"压测商户{n}有限公司", short_name=f"压测{n}", uscc=_uscc(n), mcc="5812",
                region_code="2900", contact_name="张三", contact_phone="13812345678",
                bank_account=merchants.BankAccountInput(
                    holder_name=f"压测商户{n}有限公司", account_number="31001234567890123",
                    bank_name="中国建设银行", account_type="corporate"),
            ),
            actor="bench",
        )
        t = terminals.register_terminal(serial_number=f"SN-BENCH-{n:06d}", terminal_id=f"B{n:07d}",
                                        model="bench", actor="bench")
        terminals.bind_terminal(terminal_id=t.id, merchant_id=m.id, install_address="bench", actor="bench")
        t = terminals.set_terminal_status(terminal_id=t.id, status="active", actor="bench")
        _, raw = issue_api_key(merchant=m, name="bench", actor="bench")
        shops.append(Shop(m.id, m.merchant_no, t.id, t.terminal_id, raw))
    return shops


def ensure_platform_accounts(shops: list[Shop]) -> None:
    """Create the shops' platform sub-accounts, as a merchant that has sold before has them."""
    from daozhang.ledger.accounts import channel_receivable, fee_income
    from daozhang.ledger.services import ensure_accounts

    ensure_accounts([channel_receivable(s.merchant_id, c) for s in shops for c in ("card", "wechat", "alipay")]
                    + [fee_income(s.merchant_id) for s in shops])


@dataclass
class Figure:
    """One measured rate: the rate of every round; reported as the median round, with min–max as the spread.

    Rounds of the figures that are compared are interleaved (bench/suite.py), so round i of
    one and round i of the other ran back to back: a ratio is the median of those paired
    per-round ratios, which a single stall of this machine's disk cannot swing.
    """

    count: int = 0
    seconds: float = 0.0
    rounds: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return statistics.median(self.rounds) if self.rounds else 0.0

    @property
    def mean_rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def add(self, count: int, seconds: float) -> float:
        self.count += count
        self.seconds += seconds
        r = count / seconds if seconds else 0.0
        self.rounds.append(r)
        return r

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rate"] = self.rate
        d["mean_rate"] = self.mean_rate
        d["spread"] = [min(self.rounds), max(self.rounds)] if self.rounds else None
        return d


def run_for(seconds: float, one: Callable[[], object]) -> tuple[int, float]:
    """Call `one` (one payment, one transaction) until `seconds` have passed."""
    n = 0
    clock = time.perf_counter
    t0 = clock()
    end = t0 + seconds
    while True:
        one()
        n += 1
        if clock() >= end:
            break
    return n, clock() - t0
