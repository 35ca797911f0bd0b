"""Bank payout result files (docs/formats.md): the bank's word on what arrived or came back.

CSV, UTF-8, header `payout_id,amount,status,bank_ref,return_code,reason`; amount in yuan
("1234.56"); status `paid` or `returned`. Checked whole before anything is booked; rows
already booked are skipped, so a file can be loaded twice. A full card number in any column
is a bad row (core.pan), named by line and column, never echoed.
"""

from __future__ import annotations

import csv
import io
import uuid

from daozhang.channels.bank import RETURN_REASONS, TransferResult, TransferState
from daozhang.core import pan
from daozhang.core.money import Money, MoneyError
from daozhang.settlement.models import Payout, PayoutStatus
from daozhang.settlement.payouts import record_result

COLUMNS = ["payout_id", "amount", "status", "bank_ref", "return_code", "reason"]


class ResultFileRefused(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} bad rows")
        self.errors = errors


def import_results(content: bytes) -> dict[str, int]:
    try:
        reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
    except UnicodeDecodeError as exc:
        raise ResultFileRefused(["line 1: file: not UTF-8 / 非 UTF-8 编码"]) from exc
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ResultFileRefused([f"line 1: {c}: missing column / 缺少列" for c in missing])
    parsed: list[tuple[Payout, TransferResult]] = []
    errors: list[str] = []
    for line, row in enumerate(reader, start=2):
        row = {k: (v or "").strip() for k, v in row.items() if k}
        # A full card number in any column (core.pan: a bank's reason text quoting the
        # payee's card, a bank_ref) would be stored in clear with the payout: refused.
        with_pan = [c for c, v in row.items() if pan.contains_pan(v) or pan.contains_pan(c)]
        if with_pan:
            errors += [f"line {line}: {c}: a full card number is refused / 不接受完整卡号" for c in with_pan]
            continue
        try:
            payout = Payout.objects.filter(id=uuid.UUID(row["payout_id"])).first()
        except ValueError:
            payout = None
        if payout is None:
            errors.append(f"line {line}: payout_id: unknown payout / 出款记录不存在")
            continue
        try:
            amount = Money.from_yuan(row["amount"]).fen
        except MoneyError:
            amount = -1
        if amount != payout.amount:
            errors.append(f"line {line}: amount: {row['amount']} does not match the payout "
                          f"{Money(payout.amount).yuan_str()} / 金额不符")
        if row["status"] == "paid":
            result = TransferResult(TransferState.PAID, row["bank_ref"])
        elif row["status"] == "returned" and row["return_code"] in RETURN_REASONS:
            en, zh, _ = RETURN_REASONS[row["return_code"]]
            result = TransferResult(TransferState.RETURNED, row["bank_ref"], row["return_code"],
                                    row["reason"] or f"{en} / {zh}")
        else:
            errors.append(f"line {line}: status: paid, or returned with a known return_code "
                          f"({', '.join(RETURN_REASONS)}) / 状态或退回代码无效")
            continue
        parsed.append((payout, result))
    if errors:
        raise ResultFileRefused(errors)
    counts = {"paid": 0, "returned": 0, "unchanged": 0}
    for payout, result in parsed:
        before = payout.status
        after = record_result(payout, result)
        if before == after or after not in (PayoutStatus.PAID, PayoutStatus.RETURNED):
            counts["unchanged"] += 1
        else:
            counts[after] += 1
    return counts
