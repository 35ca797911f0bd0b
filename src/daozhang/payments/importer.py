"""`daozhang payments import FILE`: load approved sales from another system (docs/formats.md).

The file is validated whole before anything is written: one bad row and the import stops
with every bad row listed (line, field, reason; never the value). A full card number in any
column (core.pan's rule: external_id, channel_txn_id, rrn, … not only masked_pan) is such a
bad row. Then rows go through the bulk path in
batches; each row's `external_id` becomes its idempotency key, so importing the same file
again, or again after a crash, books nothing twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stdnum import luhn

from daozhang.core import pan as pan_rule
from daozhang.core.clock import business_tz
from daozhang.core.money import Money, MoneyError, validate_amount_fen
from daozhang.core.progress import tracked
from daozhang.merchants.models import Merchant
from daozhang.payments.bulk import ImportedSale, import_sales
from daozhang.payments.models import CardType, Channel, EntryMode
from daozhang.terminals.models import Terminal

COLUMNS = ["external_id", "merchant_no", "terminal_id", "created_at", "channel", "entry_mode", "card_type",
           "masked_pan", "amount", "stan", "rrn", "auth_code", "channel_txn_id"]
_MASKED = re.compile(r"^(\d{6})[*xX]{3,9}(\d{4})$")
_CARD_MODES = {EntryMode.SWIPE, EntryMode.CHIP, EntryMode.CONTACTLESS}


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"


class ImportRefused(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len({e.line for e in errors})} bad rows; nothing was imported")
        self.errors = errors


@dataclass
class _Refs:
    merchants: dict[str, uuid.UUID]
    terminals: dict[str, tuple[uuid.UUID, uuid.UUID | None]]  # TID -> (terminal pk, merchant id)


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ImportRefused([RowError(1, c, "missing column / 缺少列") for c in missing])
        for line, row in enumerate(reader, start=2):
            yield line, {k: (v or "").strip() for k, v in row.items() if k}


def _parse(line: int, row: dict[str, str], refs: _Refs, errors: list[RowError]) -> ImportedSale | None:
    def bad(field: str, reason: str) -> None:
        errors.append(RowError(line, field, reason))

    start = len(errors)
    # No full card number in any column (core.pan): in external_id or channel_txn_id it would
    # be stored in clear. The masked_pan column has its own message below.
    for column, value in row.items():
        if column != "masked_pan" and (pan_rule.contains_pan(value) or pan_rule.contains_pan(column)):
            bad(column, "a full card number is refused; remove or mask it / 不接受完整卡号，请删除或掩码")
    if not row["external_id"] or len(row["external_id"]) > 100:
        bad("external_id", "required, at most 100 characters / 必填，最多 100 字符")
    merchant_id = refs.merchants.get(row["merchant_no"])
    if merchant_id is None:
        bad("merchant_no", "unknown merchant / 商户不存在")
    term = refs.terminals.get(row["terminal_id"].upper())
    if term is None or (merchant_id and term[1] != merchant_id):
        bad("terminal_id", "not a terminal of this merchant / 非该商户终端")
    try:
        at = dt.datetime.fromisoformat(row["created_at"])
        at = at if at.tzinfo else at.replace(tzinfo=business_tz())
    except ValueError:
        bad("created_at", "ISO 8601 date and time expected / 应为 ISO 8601 时间")
        at = None
    channel, mode, card_type = row["channel"], row["entry_mode"], row["card_type"]
    if channel not in Channel.values:
        bad("channel", "card, wechat or alipay")
    elif channel == Channel.CARD:
        if mode not in _CARD_MODES:
            bad("entry_mode", "swipe, chip or contactless")
        if card_type not in CardType.values:
            bad("card_type", "debit or credit")
        pan = row["masked_pan"]
        if pan_rule.contains_pan(pan) or (pan.isdigit() and luhn.is_valid(pan)):
            bad("masked_pan", "a full card number is refused; mask it / 不接受完整卡号")
        elif not _MASKED.match(pan):
            bad("masked_pan", "first six, masked middle, last four / 前六后四掩码")
    elif mode != EntryMode.QR or card_type or row["masked_pan"]:
        bad("entry_mode", "wallet payments are qr with no card fields / 钱包交易无卡信息")
    try:
        amount = validate_amount_fen(Money.from_yuan(row["amount"]).fen)
    except MoneyError as exc:
        bad("amount", exc.reason)
        amount = 0
    if not re.fullmatch(r"\d{6}", row["stan"]):
        bad("stan", "six digits / 6 位数字")
    if len(errors) > start or merchant_id is None or term is None or at is None:
        return None
    masked = row["masked_pan"]
    m = _MASKED.match(masked)
    return ImportedSale(
        merchant_id=merchant_id, terminal_pk=term[0], idempotency_key=f"import:{row['external_id']}",
        channel=channel, entry_mode=mode, card_type=card_type, amount=amount, stan=row["stan"], created_at=at,
        rrn=row["rrn"][:12], auth_code=row["auth_code"][:6], channel_txn_id=row["channel_txn_id"][:64],
        masked_pan=f"{m.group(1)}******{m.group(2)}" if m else "", last4=m.group(2) if m else "",
    )


def import_file(path: Path, *, batch_size: int = 1000, show_progress: bool = True) -> tuple[int, int]:
    """Validate the whole file, then import. Returns (rows in file, rows newly booked)."""
    refs = _Refs(
        merchants=dict(Merchant.objects.values_list("merchant_no", "id")),
        terminals={tid: (pk, mid) for tid, pk, mid in Terminal.objects.values_list("terminal_id", "id", "merchant_id")},
    )
    errors: list[RowError] = []
    total = 0
    for line, row in _rows(path):
        total += 1
        _parse(line, row, refs, errors)
        if len(errors) >= 200:
            break
    if errors:
        raise ImportRefused(errors)

    def sales() -> Iterator[ImportedSale]:
        for line, row in _rows(path):
            sale = _parse(line, row, refs, errors)
            if sale is not None:
                yield sale

    with tracked("payments.import", f"import {path.name}", total, show_progress) as advance:
        written = import_sales(sales(), batch_size=batch_size, progress=advance)
    return total, written
