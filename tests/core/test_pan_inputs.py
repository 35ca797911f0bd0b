"""Issue 11 item 5: a full card number (PAN) got in through fields that were not the card
number field: `payments import` stored one in `external_id` / `channel_txn_id`. Here every
other way in is tried — the rule itself (what it finds, what it must not take for a card),
portal and console forms (PanFormMiddleware), every column of a `payments import` file and
of a bank result file — and each refuses naming the field, writes nothing and never echoes
the number; the declared account-number fields alone take one.
"""

from __future__ import annotations

import csv
import uuid
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from daozhang.access.models import ApiKey
from daozhang.core import pan
from daozhang.merchants.models import Merchant, SettlementAccount
from daozhang.merchants.services import BankAccountInput
from daozhang.payments.importer import COLUMNS
from daozhang.payments.models import Payment
from daozhang.settlement.models import Payout
from daozhang.settlement.payout_files import ResultFileRefused, import_results
from daozhang.web.once import new_token
from tests.conftest import card, valid_uscc
from tests.portal_helpers import logged_in, portal_user

VISA = card("453201511283036")
UNIONPAY_19 = card("621483776655443321")
PERSONAL = card("622848556677889")


def spaced(number: str, sep: str = " ") -> str:
    return sep.join(number[i:i + 4] for i in range(0, len(number), 4))


# ------------------------------------------------------------------------- the rule


@pytest.mark.parametrize("text", [
    VISA, spaced(VISA), spaced(VISA, "-"), spaced(UNIONPAY_19), f"order {VISA} paid", f"REF{VISA}X",
    f"{spaced(VISA)} 2026", f"2026 {spaced(VISA, '-')}", "".join(chr(0xFF10 + int(d)) for d in VISA),
    "5500 0000 0000 0004", "2223 0000 4841 0010", "3782 822463 10005",
])
def test_the_rule_finds_a_card_number_as_people_write_it(text):
    assert pan.contains_pan(text)


@pytest.mark.parametrize("text", [
    "123456789012",  # RRN, 12 digits
    "13812345678", "+86 138 0013 8000",  # phone numbers
    "91310000500000017X", valid_uscc(7),  # unified social credit codes
    "999999999999", "12,345.67", "2026-05-01", "2026-05-01 10:00:00", "2026-11-02T08:30:00+08:00",
    "1764000000000000",  # an epoch time in microseconds: starts with 1
    str(uuid.uuid4()), "019af2c3-2da6-7497-8939-90232aafc172",  # UUIDs
    "6fa459ea-ee8a-3ca4-894e-db77e160355e".replace("-", "") * 2,  # a hex digest
    "gAAAAABn" + "4111111111111111" + "aBcDeFgHiJkLmNoP" * 2,  # a Fernet ciphertext
    "622202******3456", "6222 **** 3456",  # masked forms
    "62220212345678901234567",  # a 23-digit reference: not split into windows
    "1234567890123456",  # Luhn-valid? no; and starts with 1 anyway
    "898290058120001",  # a merchant number (starts with 8)
])
def test_the_rule_leaves_what_is_not_a_card_number(text):
    assert not pan.contains_pan(text), text


def test_a_json_value_is_searched_through_with_declared_fields_let_through():
    body = {"bank_account": {"account_number": PERSONAL, "holder_name": "王"}, "items": [{"note": spaced(VISA)}]}
    assert pan.find_in(body, exempt={"bank_account.account_number"}) == "items.0.note"
    assert pan.find_in(body, exempt={"bank_account.account_number", "items.note"}) is None
    assert pan.find_in({"amount": int(VISA)}) == "amount"
    assert pan.find_in({VISA: 1}) == "body"


# ------------------------------------------------------------------------- pages


def refused_page(resp: Any, field: str) -> None:
    assert resp.status_code == 400, resp.status_code
    page = resp.content.decode()
    assert f'data-field="{field}"' in page and "完整银行卡号" in page
    for number in (VISA, UNIONPAY_19, PERSONAL):
        assert number not in page and spaced(number) not in page


def test_portal_forms_refuse_a_card_number_but_in_the_account_number(make_merchant):
    # An individual business (个体工商户): its owner may be paid to a personal debit card.
    first = BankAccountInput(holder_name="王小明", account_number=card("622848000000001"), bank_name="中国银行",
                             account_type="personal")
    merchant_kit = make_merchant(uscc=valid_uscc(4343, entity="92"), legal_name="王小明便利店", bank_account=first)
    c = logged_in(portal_user(merchant_kit.merchant.id, "pan-owner"))
    keys = ApiKey.objects.count()
    resp = c.post(reverse("portal:api_keys"), {"name": f"till {spaced(VISA)}", "form_token": new_token()})
    refused_page(resp, "name")
    assert ApiKey.objects.count() == keys
    refused_page(c.get(reverse("portal:payments"), {"q": VISA}), "q")
    accounts = SettlementAccount.objects.count()
    form = {"holder_name": "王小明", "account_number": PERSONAL, "bank_name": "中国银行", "account_type": "personal",
            "form_token": new_token()}
    refused_page(c.post(reverse("portal:settlement_account_change"), {**form, "bank_name": f"卡 {UNIONPAY_19}"}),
                 "bank_name")
    assert SettlementAccount.objects.count() == accounts
    # The declared field takes a debit card number: stored encrypted, shown masked.
    assert c.post(reverse("portal:settlement_account_change"), form).status_code == 302
    new = SettlementAccount.objects.get(merchant=merchant_kit.merchant, is_current=False)
    assert new.account_number == PERSONAL and new.masked_number == f"{PERSONAL[:4]} **** {PERSONAL[-4:]}"
    assert PERSONAL not in c.get(reverse("portal:settlement_account")).content.decode()


def test_console_forms_refuse_a_card_number_but_in_the_account_number(db, django_user_model):
    user = django_user_model.objects.create_superuser("pan-ops", "ops@example.com", "x-very-long-pw-9")
    c = Client()
    c.force_login(user)
    form = {"legal_name": "卡号测试有限公司", "short_name": "卡号", "uscc": valid_uscc(4242), "mcc": "5812",
            "region_code": "2900", "contact_name": "赵六", "contact_phone": "13612345678", "settlement_cycle": "T1",
            "bank_account.holder_name": "赵六", "bank_account.account_number": PERSONAL,
            "bank_account.bank_name": "中国银行", "bank_account.account_type": "personal", "fee_plan": "standard"}
    refused_page(c.post(reverse("console:merchant_new"), {**form, "address": f"卡 {spaced(VISA, '-')} 号"}),
                 "address")
    assert not Merchant.objects.filter(short_name="卡号").exists()
    resp = c.post(reverse("console:merchant_new"), form)
    assert resp.status_code in (200, 302) and b"full_pan" not in resp.content
    assert 'data-field=' not in resp.content.decode()


# ------------------------------------------------------------------------- files


def _row(kit: Any, n: int, **kw: str) -> dict[str, str]:
    row = {"external_id": f"pan-{n}", "merchant_no": kit.merchant.merchant_no, "terminal_id": kit.terminal.terminal_id,
           "created_at": "2026-11-20 10:15:00", "channel": "card", "entry_mode": "chip", "card_type": "debit",
           "masked_pan": "622202******1234", "amount": "100.00", "stan": f"{n:06d}", "rrn": f"{n:012d}",
           "auth_code": "", "channel_txn_id": ""}
    row.update(kw)
    return row


def test_payments_import_refuses_a_card_number_in_any_column(merchant_kit, tmp_path, capsys):
    rows = [_row(merchant_kit, 1), _row(merchant_kit, 2, external_id=f"ORD-{VISA}"),
            _row(merchant_kit, 3, channel_txn_id=spaced(UNIONPAY_19)),
            _row(merchant_kit, 4, masked_pan=spaced(VISA, "-")), _row(merchant_kit, 5, rrn=VISA[:12], auth_code="")]
    f = tmp_path / "pans.csv"
    with f.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("payments", "import", str(f), "--quiet")
    err = capsys.readouterr().err
    assert "line 3: external_id: a full card number is refused" in err
    assert "line 4: channel_txn_id: a full card number is refused" in err
    assert "line 5: masked_pan: a full card number is refused" in err
    assert "line 6" not in err  # 12 digits of a card are not a card
    assert VISA not in err and UNIONPAY_19[:12] not in err
    assert Payment.objects.count() == 0


def test_a_bank_result_file_with_a_card_number_is_refused_naming_line_and_column(db):
    content = ("payout_id,amount,status,bank_ref,return_code,reason\n"
               f"{uuid.uuid4()},10.00,returned,BK1,R03,no account {spaced(VISA)}\n"
               f"{uuid.uuid4()},10.00,paid,{VISA},,\n").encode()
    with pytest.raises(ResultFileRefused) as exc:
        import_results(content)
    text = "\n".join(exc.value.errors)
    assert "line 2: reason: a full card number is refused" in text and "line 3: bank_ref" in text
    assert VISA not in text and not Payout.objects.exists()
