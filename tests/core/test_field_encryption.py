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


def _use_keys(settings, keys):
    settings.FIELD_ENCRYPTION_KEYS = keys
    crypto._fernet.cache_clear()


def test_rotation_from_the_development_defaults_then_payouts_still_pay(merchant_kit, settings, monkeypatch):
    """Issue 11, item 1: account numbers stored under the embedded development key; the
    operator sets a key of their own first (DAOZHANG_FIELD_KEYS=NEW,OLD), rotates, then keeps
    only NEW; the payout still goes to the right account."""
    from daozhang.settlement.models import Payout, PayoutStatus
    from tests.settlement_helpers import Clock

    clock = Clock(monkeypatch)
    assert settings.FIELD_ENCRYPTION_KEYS[0] == settings.DEV_FIELD_KEY  # the development default
    number = SettlementAccount.objects.get(merchant=merchant_kit.merchant).account_number
    clock.at(2026, 11, 2, 10, 0)
    merchant_kit.sale(30000)
    clock.settle(2026, 11, 2)
    old, new = list(settings.FIELD_ENCRYPTION_KEYS), Fernet.generate_key().decode()
    try:
        _use_keys(settings, [new, *old])
        call_command("rotate_field_keys")
        _use_keys(settings, [new])
        assert all(Fernet(new.encode()).decrypt(v.encode()).decode() == number for v in _raw_numbers())
        assert clock.pay(2026, 11, 3).paid == 1
        payout = Payout.objects.select_related("account").get()
        assert payout.status == PayoutStatus.PAID and payout.account.account_number == number
    finally:
        _use_keys(settings, old)


def test_a_key_changed_without_rotation_never_crashes_payouts_it_alerts_naming_the_fix(make_merchant, settings,
                                                                                          monkeypatch):
    """Issue 11, item 1: a secret set after data exists made `payouts run` crash with
    InvalidToken and pay nobody. Now the unreadable account waits with an alert naming the
    fix, the other merchants are paid, and once the key is back the payout goes out."""
    from daozhang.core.alerts import open_alerts
    from daozhang.settlement.models import Payout, PayoutStatus
    from daozhang.settlement.payouts import run_payouts
    from tests.settlement_helpers import Clock

    clock = Clock(monkeypatch)
    stale, fine = make_merchant(), make_merchant()
    clock.at(2026, 11, 2, 10, 0)
    stale.sale(30000)
    fine.sale(20000)
    clock.settle(2026, 11, 2)
    old, new = list(settings.FIELD_ENCRYPTION_KEYS), Fernet.generate_key().decode()
    try:
        _use_keys(settings, [new, *old])
        # Only the fine merchant's account is re-encrypted; the stale one stays under the old key.
        account = SettlementAccount.objects.get(merchant=fine.merchant)
        account.account_number = account.account_number  # re-saved under the new key
        account.save(update_fields=["account_number"])
        _use_keys(settings, [new])  # the old key dropped before rotating

        result = clock.pay(2026, 11, 3)  # no InvalidToken
        assert result.paid == 1
        by_merchant = {p.merchant_id: p for p in Payout.objects.all()}
        assert by_merchant[fine.merchant.id].status == PayoutStatus.PAID
        assert by_merchant[stale.merchant.id].status == PayoutStatus.SUBMITTING  # nothing sent
        [alert] = open_alerts("account_unreadable")
        assert "DAOZHANG_FIELD_KEYS" in alert.message_en and "rotate_field_keys" in alert.message_en
        assert "DAOZHANG_FIELD_KEYS" in alert.message_zh
        assert SettlementAccount.objects.get(merchant=stale.merchant).masked_number == "****"  # pages still show

        import pytest
        from django.core.management.base import CommandError

        with pytest.raises(CommandError, match="readable with none of the keys"):
            call_command("rotate_field_keys")  # names what it cannot read, rotates the rest

        _use_keys(settings, [new, *old])  # the fix the alert names
        call_command("rotate_field_keys")
        _use_keys(settings, [new])
        clock.at(2026, 11, 3, 9, 30)
        assert run_payouts().paid == 1
        assert Payout.objects.get(merchant_id=stale.merchant.id).status == PayoutStatus.PAID
        assert open_alerts("account_unreadable") == []
    finally:
        _use_keys(settings, old)
