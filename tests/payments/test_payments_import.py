"""`daozhang payments import`: validated whole, booked once, progress recorded."""

from __future__ import annotations

import csv

import pytest
from django.core.management import CommandError, call_command

from daozhang.core.models import JobRun
from daozhang.ledger.selectors import check_ledger, merchant_payable_balance
from daozhang.payments.importer import COLUMNS
from daozhang.payments.models import Payment


def _write(path, rows):
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        for row in rows:
            w.writerow({c: row.get(c, "") for c in COLUMNS})
    return path


def _row(kit, n, **kw):
    row = {"external_id": f"old-{n}", "merchant_no": kit.merchant.merchant_no, "terminal_id": kit.terminal.terminal_id,
           "created_at": "2026-11-20 10:15:00", "channel": "card", "entry_mode": "chip", "card_type": "debit",
           "masked_pan": "622202******1234", "amount": "100.00", "stan": f"{n:06d}", "rrn": f"{n:012d}"}
    row.update(kw)
    return row


def test_import_books_each_row_once_even_when_run_twice(merchant_kit, tmp_path, capsys):
    rows = [_row(merchant_kit, n) for n in range(1, 2501)]
    rows.append(_row(merchant_kit, 9999, channel="wechat", entry_mode="qr", card_type="", masked_pan="",
                     amount="18.50"))
    f = _write(tmp_path / "old.csv", rows)
    call_command("payments", "import", str(f), "--quiet")
    assert "imported 2501 new payments of 2501 rows" in capsys.readouterr().out
    call_command("payments", "import", str(f), "--quiet")
    assert "imported 0 new payments of 2501 rows (2501 already booked)" in capsys.readouterr().out
    assert Payment.objects.count() == 2501
    # 100 CNY debit chip at 0.5% = 0.50 CNY; 18.50 CNY WeChat at 0.38% = 7.03 fen -> 7
    assert merchant_payable_balance(merchant_kit.merchant.id) == 2500 * (10000 - 50) + (1850 - 7)
    p = Payment.objects.get(idempotency_key="import:old-1")
    assert (p.business_date.isoformat(), p.last4, p.status) == ("2026-11-20", "1234", "approved")
    assert p.settlement_date.isoformat() == "2026-11-20"  # booked: settled with the batch of its day
    runs = list(JobRun.objects.filter(kind="payments.import").values_list("status", "done", "total"))
    assert runs == [("succeeded", 2501, 2501), ("succeeded", 2501, 2501)]
    assert check_ledger().ok


def test_one_bad_row_refuses_the_whole_file_with_lines_and_fields(merchant_kit, tmp_path, capsys):
    full_pan = "6222021234567890128"
    rows = [_row(merchant_kit, 1), _row(merchant_kit, 2, amount="-5"), _row(merchant_kit, 3, masked_pan=full_pan),
            _row(merchant_kit, 4, terminal_id="NOPE0000"), _row(merchant_kit, 5, amount="1.234")]
    f = _write(tmp_path / "bad.csv", rows)
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("payments", "import", str(f), "--quiet")
    err = capsys.readouterr().err
    assert "line 3: amount" in err and "line 4: masked_pan" in err and "line 5: terminal_id" in err
    assert "line 6: amount" in err and full_pan not in err
    assert Payment.objects.count() == 0


def test_missing_column_is_named(merchant_kit, tmp_path, capsys):
    f = tmp_path / "x.csv"
    f.write_text("external_id,amount\n1,2.00\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("payments", "import", str(f), "--quiet")
    assert "merchant_no: missing column" in capsys.readouterr().err


def test_history_for_a_settled_day_is_paid_with_the_next_batch(merchant_kit, tmp_path, monkeypatch):
    import datetime as dt

    from daozhang.settlement.runs import run_settlement
    from tests.settlement_helpers import Clock

    clock = Clock(monkeypatch)
    clock.at(2026, 11, 20, 10, 0)
    merchant_kit.sale(10000)
    clock.at(2026, 11, 20, 23, 30)
    run_settlement(dt.date(2026, 11, 20))
    late = [_row(merchant_kit, 1, created_at="2026-11-20 11:00:00"),
            _row(merchant_kit, 2, created_at="2026-11-20 23:10:00")]  # after the T+1 cut-off
    call_command("payments", "import", str(_write(tmp_path / "late.csv", late)), "--quiet")
    dates = {p.idempotency_key: p.settlement_date.isoformat() for p in Payment.objects.filter(
        idempotency_key__startswith="import:")}
    assert dates == {"import:old-1": "2026-11-21", "import:old-2": "2026-11-21"}
