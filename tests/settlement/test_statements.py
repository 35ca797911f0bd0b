"""Daily statements: every line of the batch, CSV and PDF with Chinese text that renders."""

from __future__ import annotations

import csv
import io
import subprocess

import pytest

from daozhang.core.money import Money
from daozhang.settlement.adjustments import adjust
from daozhang.settlement.models import SettlementBatch
from tests.settlement_helpers import Clock


@pytest.fixture
def paid_batch(merchant_kit, monkeypatch):
    clock = Clock(monkeypatch)
    clock.at(2026, 11, 2, 10, 0)
    merchant_kit.sale(10000)
    merchant_kit.sale(25000, channel="alipay", entry_mode="qr")
    v = merchant_kit.sale(5000).json()
    merchant_kit.post(f"/api/v1/payments/{v['id']}/void", {"terminal_id": merchant_kit.terminal.terminal_id})
    adjust(merchant_id=merchant_kit.merchant.id, amount=-1900, reason="流量费 SIM fee", actor="staff:fin")
    clock.settle(2026, 11, 2)
    clock.pay(2026, 11, 3)
    return SettlementBatch.objects.get()


def test_csv_statement_lists_every_line_and_the_payout(merchant_kit, paid_batch):
    r = merchant_kit.client.get(f"/api/v1/settlements/{paid_batch.id}/statement.csv")
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    kinds = [row[1] for row in rows if len(row) == 7 and row[0] != "time"]
    assert kinds.count("消费 sale") == 3 and "撤销 void" in kinds and "调账 adjustment" in kinds
    net_row = next(row for row in rows if row and row[0] == "net to pay")
    assert net_row[1] == "329.55"  # 100 − 0.50 + 250 − 0.95 − 1.90, the voided 50 nets to zero
    payout = next(row for row in rows if row and row[0] == "payout")
    assert payout[2] == "paid" and payout[3] == "329.55" and payout[5].startswith("BK")


def test_pdf_statement_renders_chinese(merchant_kit, paid_batch, tmp_path):
    r = merchant_kit.client.get(f"/api/v1/settlements/{paid_batch.id}/statement.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    f = tmp_path / "s.pdf"
    f.write_bytes(r.content)
    text = subprocess.run(["pdftotext", "-layout", str(f), "-"], capture_output=True, text=True, check=True).stdout
    assert "结算单" in text and merchant_kit.merchant.legal_name in text and "329.55" in text
    fonts = subprocess.run(["pdffonts", str(f)], capture_output=True, text=True, check=True).stdout
    assert "yes" in fonts.splitlines()[-1]  # the CJK font is embedded, not left to the viewer
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(f), str(tmp_path / "page")], check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 5000


def test_another_merchant_cannot_download_my_statement(make_merchant, merchant_kit, paid_batch):
    other = make_merchant()
    assert other.client.get(f"/api/v1/settlements/{paid_batch.id}/statement.pdf").status_code == 404
    assert other.client.get(f"/api/v1/settlements/{paid_batch.id}/statement.csv").status_code == 404


def _pdf_text(client, batch, tmp_path) -> str:
    r = client.get(f"/api/v1/settlements/{batch.id}/statement.pdf")
    assert r.status_code == 200
    f = tmp_path / f"{batch.id}.pdf"
    f.write_bytes(r.content)
    return subprocess.run(["pdftotext", "-layout", str(f), "-"], capture_output=True, text=True, check=True).stdout


def test_the_pdf_reads_as_words_and_yuan_for_people(merchant_kit, monkeypatch, tmp_path):
    """Issue 13, item 8: no thousands separators, raw "Cycle T1 / Status paid", no line
    saying how the net is made, and a carried batch with a payout date and a negative net."""
    clock = Clock(monkeypatch)
    clock.at(2026, 11, 2, 10, 0)
    merchant_kit.sale(2_000_000)  # ¥20,000.00 less its fee
    clock.settle(2026, 11, 2)
    clock.pay(2026, 11, 3)
    paid = SettlementBatch.objects.get()
    text = _pdf_text(merchant_kit.client, paid, tmp_path)
    net = Money(paid.net).display()
    assert net.startswith("¥19,9") and net[1:] in text and "20,000.00" in text  # grouped, as people read amounts
    assert "T+1" in text and "已到账" in text and "到账日 Paid on 2026-11-03" in text
    assert "Cycle T1" not in text and "Status paid" not in text
    assert "净额 Net" in text and f"= {net}" in text  # the net's arithmetic, in words and yuan

    clock.at(2026, 11, 4, 10, 0)
    adjust(merchant_id=merchant_kit.merchant.id, amount=-5000, reason="机具租金 device rental", actor="staff:fin")
    clock.settle(2026, 11, 4)
    carried = SettlementBatch.objects.get(settlement_date="2026-11-04")
    assert carried.status == "carried" and carried.net < 0
    text = _pdf_text(merchant_kit.client, carried, tmp_path)
    assert "结转至下一批次" in text and "结转净额 Net carried forward" in text and "-50.00" in text
    assert "到账日" not in text and "应付净额" not in text
