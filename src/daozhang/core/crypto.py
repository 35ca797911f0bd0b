"""Encryption at rest for secrets the product must read back.

A settlement bank account number has to be sent to the bank with every payout, so it
cannot be hashed like a card number; and a personal (对私) settlement account is usually
the merchant's own debit card number, which must never sit in a table in clear. It is
stored encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`), keyed
separately from the session secret.

Keys (`DAOZHANG_FIELD_KEYS`, comma-separated Fernet keys): the first encrypts, all
decrypt, so a key is rotated by putting a new one first and running
`daozhang rotate_field_keys`, then dropping the old one. They are independent of
SECRET_KEY (production refuses a derived or embedded one: core/checks.py). A value no key
decrypts reads as `Unreadable` instead of raising, so one bad row cannot stop every payout.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


class Unreadable(str):
    """A stored value that no key in DAOZHANG_FIELD_KEYS decrypts (a key was changed or
    dropped before `rotate_field_keys` ran). It reads as an empty string, so no page crashes
    and nothing can be sent to a bank with it (callers that send check `is_unreadable`), and
    it keeps the stored token: saving the row writes the token back unchanged, so putting
    the right key back makes the value readable again."""

    token: str

    def __new__(cls, token: str) -> Unreadable:
        obj = super().__new__(cls, "")
        obj.token = token
        return obj


def is_unreadable(value: object) -> bool:
    return isinstance(value, Unreadable)


@cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.FIELD_ENCRYPTION_KEYS])


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """The same secret under the first (newest) key."""
    return _fernet().rotate(token.encode()).decode()


def is_token(value: str) -> bool:
    return value.startswith("gAAAAA")  # Fernet version byte 0x80, base64url


class EncryptedCharField(models.TextField):
    """A text value encrypted in the database, clear in Python.

    Every encryption uses a fresh random IV, so equal values have different ciphertexts:
    the column cannot be searched or compared in SQL, and lookups other than `isnull` are
    refused rather than silently matching nothing.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if not value:
            return value
        try:
            return decrypt(value)
        except InvalidToken:
            return Unreadable(value)

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, Unreadable):
            return value.token
        value = super().get_prep_value(value)
        return encrypt(value) if value else value

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)
