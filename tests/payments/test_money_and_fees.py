"""The rounding rule and the fee plan (docs/money.md#fee-plans): figures a merchant sees on a statement."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daozhang.core.money import Money, MoneyError, apply_rate, percent_to_ppm, validate_amount_fen
from daozhang.merchants.models import FeePlan
from daozhang.payments.fees import fee_for

PLAN = FeePlan(code="t", name="t")  # the model defaults are the documented default plan


@pytest.mark.parametrize(
    ("channel", "mode", "card", "amount", "fee", "rule"),
    [
        ("wechat", "qr", "", 10000, 38, "wallet"),  # 100 CNY at 0.38%
        ("alipay", "qr", "", 13, 0, "wallet"),  # 0.0494 fen rounds down
        ("card", "contactless", "debit", 100_000, 380, "quickpass"),  # 1,000 CNY: discount
        ("card", "contactless", "credit", 100_001, 600, "credit"),  # 1,000.01 CNY: standard
        ("card", "chip", "credit", 100_000, 600, "credit"),  # chip never discounted
        ("card", "swipe", "debit", 100_000, 500, "debit"),
        ("card", "chip", "debit", 500_000, 2000, "debit"),  # 25 CNY capped at 20
        ("card", "chip", "credit", 500_000, 3000, "credit"),  # credit is not capped
        ("card", "chip", "debit", 10_100, 51, "debit"),  # 50.5 fen rounds half up
    ],
)
def test_fee_rules(channel, mode, card, amount, fee, rule):
    got = fee_for(PLAN, channel=channel, entry_mode=mode, card_type=card, amount_fen=amount)
    assert (got.fen, got.rule) == (fee, rule)


def test_half_up_rounding_at_the_boundary():
    assert apply_rate(125, 4000) == 1  # 0.5 fen -> 1
    assert apply_rate(124, 4000) == 0  # 0.496 fen -> 0
    assert apply_rate(1_000_000, 5000, cap_fen=2000) == 2000


@given(st.integers(0, 10**12), st.integers(0, 1_000_000))
def test_fee_never_exceeds_amount_and_is_exact_integer(amount, ppm):
    fee = apply_rate(amount, ppm)
    assert isinstance(fee, int)
    assert 0 <= fee <= amount
    assert abs(fee * 1_000_000 - amount * ppm) <= 500_000  # within half a fen


@pytest.mark.parametrize("bad", [0, -1, 1.5, 12.0, "100", True, None, 10**12])
def test_amount_validation_refuses_non_fen(bad):
    with pytest.raises(MoneyError):
        validate_amount_fen(bad)


def test_money_parsing_and_display():
    assert Money.from_yuan("1234.5").fen == 123450
    assert Money(123456).display() == "¥1,234.56"
    assert Money(-5).display() == "-¥0.05"
    assert Money(5).yuan_str() == "0.05"
    for bad in ("1.234", "abc", "-1", "1e3"):
        with pytest.raises(MoneyError):
            Money.from_yuan(bad)
    with pytest.raises(MoneyError):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(1) + Money(1, "USD")
    assert percent_to_ppm("0.38") == 3800
    with pytest.raises(MoneyError):
        percent_to_ppm("0.123456")
