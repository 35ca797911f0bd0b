"""Daily statements: every line of the batch, CSV and PDF with Chinese text that renders."""

from __future__ import annotations

import csv
import io
import subprocess

import pytest

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
