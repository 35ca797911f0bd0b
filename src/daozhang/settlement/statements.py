"""Daily settlement statements (结算单): every payment, fee, deduction and the payout of a batch.

CSV for spreadsheets (UTF-8 with BOM so Excel shows Chinese) and PDF for people, with a
real CJK font embedded (found with fontconfig) so Chinese renders on any viewer.
"""

from __future__ import annotations

import csv
import io
import subprocess
from functools import cache

from django.http import HttpResponse

from daozhang.core.errors import DomainError
from daozhang.core.money import Money
from daozhang.settlement.breakdown import batch_formula
from daozhang.settlement.models import BatchStatus, Payout, SettlementBatch
from daozhang.settlement.payouts import batch_payouts
from daozhang.settlement.sources import Line, all_lines


def lines(batch: SettlementBatch) -> list[Line]:
    """Every registered source's lines for the batch's day, then what settlement itself adds."""
    out = all_lines(batch.merchant_id, batch.settlement_date)
    if batch.carried_in:
        out.append(Line("", "上期结转 carried in", "", "", batch.carried_in, 0, batch.carried_in))
    if batch.d0_fee:
        out.append(Line("", "D0 手续费 D0 fee", "", "", 0, batch.d0_fee, -batch.d0_fee))
    return out


def _payouts(batch: SettlementBatch) -> list[Payout]:
    return batch_payouts(batch)


def _y(fen: int) -> str:
    return Money(fen).yuan_str()


def to_csv(batch: SettlementBatch) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    m = batch.merchant
    w.writerow(["merchant_no", m.merchant_no, "merchant", m.legal_name])
    w.writerow(["settlement_date", batch.settlement_date, "payout_date", batch.payout_date, "cycle", batch.cycle,
                "status", batch.status])
    w.writerow([])
    w.writerow(["time", "type", "reference", "detail", "amount", "fee", "net"])
    for ln in lines(batch):
        w.writerow([ln.at, ln.kind, ln.ref, ln.detail, _y(ln.amount), _y(ln.fee), _y(ln.net)])
    w.writerow([])
    w.writerow(["net to pay", _y(batch.net)])
    for p in _payouts(batch):
        w.writerow(["payout", p.attempt, p.status, _y(p.amount), p.account.masked_number, p.bank_ref,
                    p.return_code, p.return_reason])
    return "\ufeff" + buf.getvalue()


@cache
def cjk_font_path() -> str:
    """A CJK-capable font file, looked up with fontconfig (Debian: fonts-wqy-microhei)."""
    for family in ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC"):
        try:
            out = subprocess.run(["fc-match", "-f", "%{file}", f"{family}:lang=zh-cn"],  # noqa: S603,S607
                                 capture_output=True, text=True, timeout=5, check=False).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        if out and any(k in out.lower() for k in ("wqy", "cjk", "notosanssc", "noto")):
            return out
    raise DomainError("no_cjk_font", None, status=500)


# Words for the codes a statement used to print raw (issue 13 item 8).
_CYCLE_WORDS = {"T1": "T+1 次个工作日到账 next working day", "D0": "D0 当日到账 same day"}


def _payout_line(batch: SettlementBatch) -> str:
    """What happened to the batch's money, in words: a date only where money was or will be paid."""
    if batch.status == BatchStatus.CARRIED:
        return "不出款：结转至下一批次 Not paid: carried forward to the next batch"
    if batch.status == BatchStatus.PAID:
        return f"到账日 Paid on {batch.payout_date}"
    if batch.status in (BatchStatus.HELD, BatchStatus.RETURNED):
        return f"未到账 Not paid（原定出款日 due {batch.payout_date}）"
    return f"预计到账日 Due on {batch.payout_date}"


def _grouped(fen: int) -> str:
    """Yuan with thousands separators, as people read amounts: 23,302.52."""
    return Money(fen).display().replace("¥", "")


def to_pdf(batch: SettlementBatch) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    path = cjk_font_path()
    if "CJK" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("CJK", path, subfontIndex=0))
    h = ParagraphStyle("h", fontName="CJK", fontSize=14, leading=18)
    body = ParagraphStyle("b", fontName="CJK", fontSize=9, leading=12)
    m = batch.merchant
    story: list[object] = [
        Paragraph(f"结算单 Settlement statement — {m.legal_name}", h),
        Paragraph(f"商户编号 Merchant no. {m.merchant_no}　结算日 Settlement date {batch.settlement_date}　"
                  f"{_payout_line(batch)}　周期 Cycle {_CYCLE_WORDS.get(batch.cycle, batch.cycle)}　"
                  f"状态 Status {batch.get_status_display()}", body),
        Paragraph(f"净额 Net：{batch_formula(batch, zh=True)}", body),
        Spacer(1, 8),
    ]
    rows: list[list[str]] = [["时间 Time", "类型 Type", "参考号 Ref", "说明 Detail", "金额 Amount", "手续费 Fee",
                              "净额 Net"]]
    for ln in lines(batch):
        rows.append([ln.at, ln.kind, ln.ref, ln.detail[:40], _grouped(ln.amount), _grouped(ln.fee), _grouped(ln.net)])
    net_label = ("结转净额 Net carried forward" if batch.status == BatchStatus.CARRIED
                 else "应付净额 Net to pay")
    rows.append(["", "", "", net_label, "", "", _grouped(batch.net)])
    table = Table(rows, repeatRows=1, colWidths=[58, 70, 70, 150, 60, 50, 60])
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), "CJK", 7.5), ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")), ("ALIGN", (4, 1), (-1, -1), "RIGHT"),
    ]))
    story.append(table)
    story.append(Spacer(1, 8))
    for p in _payouts(batch):
        story.append(Paragraph(
            f"出款 Payout #{p.attempt}: {Money(p.amount).display()} → {p.account.bank_name} {p.account.masked_number}"
            f"（{p.account.holder_name}）状态 {p.get_status_display()} {p.bank_ref} {p.return_code} {p.return_reason}",
            body))
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=f"statement {m.merchant_no} {batch.settlement_date}",
                      leftMargin=28, rightMargin=28, topMargin=28, bottomMargin=28).build(story)
    return out.getvalue()


def download(batch: SettlementBatch, fmt: str) -> HttpResponse:
    """The statement as a file download (API and portal share it), named after the
    merchant number and the settlement date so a folder of them sorts by day."""
    if fmt == "pdf":
        resp = HttpResponse(to_pdf(batch), content_type="application/pdf")
    else:
        resp = HttpResponse(to_csv(batch), content_type="text/csv; charset=utf-8")
        fmt = "csv"
    name = f"statement-{batch.merchant.merchant_no}-{batch.settlement_date}.{fmt}"
    resp["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp
