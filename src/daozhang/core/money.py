"""Money: integer fen inside, `Money` at the edges, one rounding rule.

Why integers: a float cannot hold 0.1 CNY exactly, and a ledger that is off by one fen
after a million payments is a ledger nobody can reconcile. Rates are integer parts per
million (ppm: 0.38% = 3800 ppm), so every fee is computed with integer arithmetic.

The one rounding rule (see docs/money.md): a fee is `amount * rate_ppm / 1_000_000`
rounded half up to the fen (0.5 fen and above rounds up), then capped if the plan has a
cap. Half-up on a non-negative product is what Chinese acquirers print on statements;
it never depends on the platform's float behaviour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

CNY = "CNY"
FEN_PER_YUAN = 100
PPM = 1_000_000
# The largest single amount the product accepts: ISO 8583 field 4 is n12 in fen.
MAX_AMOUNT_FEN = 999_999_999_999

_YUAN_RE = re.compile(r"^(?P<int>\d{1,10})(?:\.(?P<frac>\d{1,2}))?$")


class MoneyError(ValueError):
    """A value that is not a valid amount of money; `reason` is a stable code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in the minor unit of a currency (fen for CNY)."""

    fen: int
    currency: str = CNY

    def __post_init__(self) -> None:
        if isinstance(self.fen, bool) or not isinstance(self.fen, int):
            raise MoneyError("not_integer_fen")

    @classmethod
    def from_yuan(cls, text: str, currency: str = CNY) -> Money:
        """Parse "12.34" (a string: floats are refused, they are already inexact)."""
        if not isinstance(text, str):
            raise MoneyError("not_a_decimal_string")
        m = _YUAN_RE.match(text.strip())
        if not m:
            raise MoneyError("not_a_decimal_string")
        frac = (m.group("frac") or "").ljust(2, "0")
        return cls(int(m.group("int")) * FEN_PER_YUAN + int(frac), currency)

    def yuan_str(self) -> str:
        sign = "-" if self.fen < 0 else ""
        whole, frac = divmod(abs(self.fen), FEN_PER_YUAN)
        return f"{sign}{whole}.{frac:02d}"

    def display(self) -> str:
        """¥1,234.56 — the form every page and statement uses."""
        sign = "-" if self.fen < 0 else ""
        whole, frac = divmod(abs(self.fen), FEN_PER_YUAN)
        return f"{sign}¥{whole:,}.{frac:02d}"

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.fen + other.fen, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.fen - other.fen, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.fen, self.currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise MoneyError("currency_mismatch")


def validate_amount_fen(value: object) -> int:
    """A payment amount: a positive integer number of fen within ISO 8583 n12."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MoneyError("not_integer_fen")
    if value <= 0:
        raise MoneyError("not_positive")
    if value > MAX_AMOUNT_FEN:
        raise MoneyError("too_large")
    return value


def apply_rate(amount_fen: int, rate_ppm: int, cap_fen: int | None = None) -> int:
    """The fee on `amount_fen` at `rate_ppm`, rounded half up to the fen, then capped."""
    if amount_fen < 0 or rate_ppm < 0:
        raise MoneyError("negative_fee_input")
    fee = (amount_fen * rate_ppm + PPM // 2) // PPM
    if cap_fen is not None and fee > cap_fen:
        fee = cap_fen
    return fee


def percent_to_ppm(text: str) -> int:
    """"0.38" (percent) -> 3800 ppm; more than four decimals cannot be exact in ppm."""
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise MoneyError("not_a_decimal_string") from exc
    ppm = value * 10_000
    if ppm != ppm.to_integral_value() or ppm < 0:
        raise MoneyError("rate_not_exact")
    return int(ppm)


def ppm_to_percent(ppm: int) -> str:
    return f"{Decimal(ppm) / 10_000:f}".rstrip("0").rstrip(".") + "%"
