"""Field rules for onboarding, each raising a DomainError that names the field."""

from __future__ import annotations

import re

import phonenumbers
from stdnum import luhn
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.exceptions import ValidationError as StdnumError

from daozhang.core.errors import DomainError
from daozhang.merchants.mcc import MCC_REFERENCE

_USCC_REASONS: dict[type[StdnumError], tuple[str, str]] = {
    InvalidChecksum: ("the check character is wrong", "校验码错误"),
    InvalidLength: ("it must be 18 characters", "长度须为 18 位"),
    InvalidFormat: ("it contains characters a USCC cannot have", "包含无效字符"),
    InvalidComponent: ("a part of it (authority, type or region) is not valid", "登记管理部门、类别或区划代码无效"),
}


def clean_uscc(value: str, field: str = "uscc") -> str:
    try:
        return str(stdnum_uscc.validate(value))
    except StdnumError as exc:
        detail = next((r for cls, r in _USCC_REASONS.items() if isinstance(exc, cls)), ("not valid", "无效"))
        raise DomainError("bad_uscc", field, {"detail": detail}) from exc


def clean_phone(value: str, field: str = "contact_phone") -> str:
    """A mainland China number in E.164 (+86…)."""
    try:
        parsed = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException as exc:
        raise DomainError("bad_phone", field) from exc
    if parsed.country_code != 86 or not phonenumbers.is_valid_number(parsed):
        raise DomainError("bad_phone", field)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def clean_mcc(value: str, field: str = "mcc") -> str:
    if value not in MCC_REFERENCE:
        raise DomainError("bad_mcc", field)
    return value


_DIGITS = re.compile(r"^\d+$")


def clean_bank_account(number: str, account_type: str, field: str = "account_number") -> str:
    """Corporate accounts: 8–30 digits. Personal accounts are bank cards: 16–19 digits, Luhn."""
    n = re.sub(r"[\s-]", "", number or "")
    if not _DIGITS.match(n):
        raise DomainError("bad_bank_account", field, {"detail": ("digits only", "只能是数字")})
    if account_type == "personal":
        if not 16 <= len(n) <= 19:
            raise DomainError("bad_bank_account", field,
                              {"detail": ("a personal account is a 16-19 digit card number",
                                          "个人账户须为 16-19 位卡号")})
        if not luhn.is_valid(n):
            raise DomainError("bad_bank_account", field, {"detail": ("the check digit is wrong", "校验位错误")})
    elif not 8 <= len(n) <= 30:
        raise DomainError("bad_bank_account", field,
                          {"detail": ("a corporate account has 8-30 digits", "对公账户须为 8-30 位数字")})
    return n


def clean_required(value: str | None, field: str, max_len: int) -> str:
    v = (value or "").strip()
    if not v:
        raise DomainError("required", field)
    if len(v) > max_len:
        raise DomainError("invalid", field)
    return v


def clean_region(value: str, field: str = "region_code") -> str:
    if not re.fullmatch(r"\d{4}", value or ""):
        raise DomainError("invalid", field)
    return value
