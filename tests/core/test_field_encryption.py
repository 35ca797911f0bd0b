"""Settlement bank account numbers are encrypted at rest: the raw column never holds the
number (a personal account is usually a debit card number), the product still pays to
it, and keys can be rotated."""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from daozhang.core import crypto
from daozhang.merchants.models import SettlementAccount


def _raw_numbers() -> list[str]:
    with connection.cursor() as cur:
        cur.execute("SELECT account_number FROM merchants_settlementaccount")
        return [r[0] for r in cur.fetchall()]


def test_the_number_is_never_in_the_table_but_the_model_reads_it(merchant_kit):
    account = SettlementAccount.objects.get(merchant=merchant_kit.merchant)
    number = account.account_number
    assert number.isdigit() and len(number) >= 12
    raw = _raw_numbers()
    assert all(number not in value and crypto.is_token(value) for value in raw)
    assert account.masked_number.endswith(number[-4:])


def test_an_encrypted_column_cannot_be_searched_by_value(merchant_kit):
    import pytest
    from django.core.exceptions import FieldError

    with pytest.raises(FieldError):
        SettlementAccount.objects.filter(account_number="6222000011113333").exists()


def test_rotation_re_encrypts_under_the_new_key_and_old_keys_can_go(merchant_kit, settings):
    number = SettlementAccount.objects.get(merchant=merchant_kit.merchant).account_number
    old = list(settings.FIELD_ENCRYPTION_KEYS)
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, *old]
    crypto._fernet.cache_clear()
    try:
        call_command("rotate_field_keys")
        settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is gone
        crypto._fernet.cache_clear()
        assert SettlementAccount.objects.get(merchant=merchant_kit.merchant).account_number == number
    finally:
        settings.FIELD_ENCRYPTION_KEYS = old
        crypto._fernet.cache_clear()
