"""The full-card-number (PAN) rule: one definition of what looks like a card number, used by
every way data gets in — the API's JSON bodies, query strings and paths (core.edge), every
portal and console form (web.middleware.PanFormMiddleware), every column of every import
(`payments import`, the payout result file) — and by the tests that scan database dumps.

PCI DSS: a full PAN is never stored. Fields that legitimately carry one are *declared*:
the sale's `card_number` (tokenised and masked the moment it arrives, payments.cards) and
settlement account numbers (a personal 对私 account is a debit card number; encrypted at
rest, core.crypto, and shown masked). Every other field that holds a card number is
refused, naming the field, before anything is written.

What counts as a card number (documented in docs/api.md and docs/formats.md):
- 13 to 19 digits, either one unbroken run of digits (also inside longer text: letters
  and punctuation other than the separators below end a run) or digit groups joined by a
  single space or dash, as card numbers are written (`6222 0212 3456 7890`,
  `6222-0212-3456-7890`); in a written number every contiguous span of its groups that
  holds 13 to 19 digits is tried, so a PAN followed by other numbers is still found;
- passing the Luhn check;
- starting with an issuer (IIN) prefix of a payment card network: 3, 4, 5 or 6 (Amex, JCB,
  Diners, Visa, Mastercard 51-55, UnionPay 62, Discover), or 2221-2720 (Mastercard's
  2-series).
What does not:
- a UUID (`8-4-4-4-12` hexadecimal: an id; its digit groups joined by its own dashes would
  otherwise look like a written number about once in 700 UUIDv7s);
- digits inside an opaque token: a word of 32 or more of `[A-Za-z0-9+/=]` that is
  hexadecimal with a letter (a digest) or mixes upper- and lower-case letters (base64: a
  Fernet ciphertext, a password hash, a key); its digit runs are chance (a 64-digit hex
  digest holds a Luhn-valid card-like run about once in 500);
- an unbroken run of more than 19 digits (a long reference is not split into windows:
  every window of a 25-digit id would pass Luhn one time in ten);
- 12-digit RRNs, 11-digit phone numbers, 18-character social credit codes (91…), amounts
  (at most 12 digits), dates (`2026-05-01 10:00` starts with 2026, below 2221), epoch
  timestamps (start with 1);
- wallet payment codes: WeChat 10-15…, Alipay 25-30… (a Luhn-valid Alipay code starting
  25-27 would be taken for a card, so `wallet_auth_code` is declared a one-time payment
  code, used for the call and kept nowhere).
The prefix rule is the false-positive guard: a number starting with 0, 1, 7, 8 or 9 is not
taken for a card (UnionPay's newer 81 range is therefore not caught). The exceptions are
against accidents, not a determined adversary, who can always encode a number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from stdnum import luhn

from daozhang.core.errors import DomainError

PAN_MIN, PAN_MAX = 13, 19
# Digit groups joined by one separator: space, no-break space, ideographic space, dash, hyphens.
_SEP = " \u00a0\u3000\\-\u2010\u2011\u2012\u2013"
_WRITTEN = re.compile(rf"\d+(?:[{_SEP}]\d+)*")
_SPLIT = re.compile(rf"[{_SEP}]")
# An opaque token: 32 or more letters and digits in one word (a hex digest, a ciphertext, a
# key, base64) is not text a person wrote; its digit runs are chance.
_OPAQUE = re.compile(r"[A-Za-z0-9+/=]{32,}")
_HEX = re.compile(r"[0-9a-fA-F]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# The JSON-Schema keyword on a declared field, and the kinds of declaration.
SCHEMA_KEY = "x-daozhang-pan"
CARD = "card"  # a card number, tokenised and masked on arrival (payments.cards)
ACCOUNT = "account"  # a bank account number, encrypted at rest and masked when shown
PAYMENT_CODE = "payment-code"  # a wallet's one-time payment code, used for the call and kept nowhere


def _ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.digit(c)) for c in text)


def _card_prefix(digits: str) -> bool:
    return digits[0] in "3456" or 2221 <= int(digits[:4]) <= 2720


def is_pan(digits: str) -> bool:
    """Whether a string of ASCII digits is a card number under the rule above."""
    return PAN_MIN <= len(digits) <= PAN_MAX and _card_prefix(digits) and luhn.is_valid(digits)


def _candidates(text: str) -> Iterator[str]:
    for m in _WRITTEN.finditer(text):
        groups = [_ascii_digits(g) for g in _SPLIT.split(m.group())]
        if len(groups) == 1:
            yield groups[0]
            continue
        for i in range(len(groups)):
            total = ""
            for g in groups[i:]:
                total += g
                if len(total) > PAN_MAX:
                    break
                if len(total) >= PAN_MIN:
                    yield total


def contains_pan(text: str) -> bool:
    """Whether the text holds a card number anywhere (the rule of this module)."""
    if sum(c.isdigit() for c in text) < PAN_MIN:
        return False
    text = _OPAQUE.sub(_blank_opaque, _UUID.sub("|", text))
    return any(is_pan(c) for c in _candidates(text))


def _blank_opaque(m: re.Match[str]) -> str:
    word = m.group()
    hex_digest = bool(_HEX.fullmatch(word)) and not word.isdigit()
    base64 = any(c.isupper() for c in word) and any(c.islower() for c in word)
    return "|" if hex_digest or base64 else word


def _as_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    return None


def find_in(value: Any, *, exempt: Iterable[str] = (), path: str = "") -> str | None:
    """The dotted path of the first field of a JSON-like value (dicts, lists, strings,
    numbers) that holds a card number, or None. Keys are fields too. A field whose path is
    in `exempt` (`bank_account.account_number`; list items as `items.0.x` or `items.x`) is
    not looked into: it is declared to carry a PAN."""
    exempt = exempt if isinstance(exempt, frozenset | set) else frozenset(exempt)
    return _find(value, exempt, path)


def _find(value: Any, exempt: frozenset[str] | set[str], path: str) -> str | None:
    if path and (path in exempt or re.sub(r"\.\d+(?=\.|$)", "", path) in exempt):
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if contains_pan(str(key)):
                return path or "body"
            found = _find(item, exempt, sub)
            if found is not None:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _find(item, exempt, f"{path}.{i}" if path else str(i))
            if found is not None:
                return found
        return None
    text = _as_text(value)
    if text is not None and contains_pan(text):
        return path or "body"
    return None


def find_in_pairs(pairs: Iterable[tuple[str, Any]], *, exempt: Iterable[str] = ()) -> str | None:
    """The first name of (name, value) pairs (a form, a query string, a file's row; a value
    may be a list, as QueryDict.lists() gives) whose name or value holds a card number,
    fields in `exempt` skipped."""
    skip = frozenset(exempt)
    for name, value in pairs:
        if name in skip:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        if contains_pan(str(name)) or any(isinstance(v, str) and contains_pan(v) for v in values):
            return name
    return None


F = TypeVar("F", bound=Callable[..., Any])


def carries_pan(*fields: str) -> Callable[[F], F]:
    """Declare the form fields of a page that carry a card or account number (each with its
    own protection: tokenised, or encrypted and masked); every other field of the page is
    scanned by web.middleware.PanFormMiddleware and a card number there is refused."""

    def mark(view: F) -> F:
        view.pan_fields = frozenset(fields)  # type: ignore[attr-defined]
        return view

    return mark


def masked(digits: str) -> str:
    """First six and last four, the only part of a card number that may be shown."""
    return f"{digits[:6]}{'*' * (len(digits) - 10)}{digits[-4:]}" if len(digits) > 10 else "*" * len(digits)


def refused(field: str) -> DomainError:
    """The error for a card number found in `field` (400, nothing written)."""
    name = "".join(c for c in field if c.isprintable())[:80] or "body"
    return DomainError("full_pan", name, {"field": name})
