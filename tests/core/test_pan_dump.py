"""Issue 11 item 5: a Luhn scan of a database dump found full card numbers (the sandbox
bank's accounts and transfers, 29 rows after the demo). Now the flows that carry card and
account numbers run, committed, on the test database — the demo month, API card sales
(digits, spaced, dashed), a `payments import` file, personal (对私) settlement accounts whose
numbers are debit card numbers (onboarded, changed, verified by the sandbox bank, paid out
through it), a bank result file, notifications delivered — and then the database is dumped
as an operator would (SQLite: `iterdump()`; PostgreSQL: `pg_dump` of the test server) and
the dump's text is scanned with the product's own rule (core.pan). No hit may remain; a hit
is listed by table and column. The log records of the flows are scanned too.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from daozhang.core import pan
from daozhang.merchants import services as merchants
from daozhang.merchants.models import SettlementAccount
from daozhang.payments.importer import COLUMNS, import_file
from daozhang.settlement.accounts import verify_account_change
from daozhang.settlement.models import Payout
from daozhang.settlement.payout_files import import_results
from tests.account_helpers import change_account
from tests.conftest import card, valid_uscc
from tests.settlement_helpers import Clock

pytestmark = pytest.mark.django_db(transaction=True)

PERSONAL_FIRST = card("621700112233445")  # the owner's debit card, the first settlement account
PERSONAL_NEW = card("622848556677889")  # the card the account is changed to
SALE_PANS = (card("622202998877665"), card("625807554433221"), card("621483776655443321"))
ALL_PANS = (PERSONAL_FIRST, PERSONAL_NEW, *SALE_PANS)


def spaced(number: str, sep: str) -> str:
    return sep.join(number[i:i + 4] for i in range(0, len(number), 4))


# ------------------------------------------------------------------------- the flows


def run_flows(make_merchant: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, deliver: Any) -> None:
    clock = Clock(monkeypatch)
    clock.at(2026, 10, 30, 12, 0)  # the demo's ten days end before the flows below: dates run forward
    call_command("demo", "--days", "10")
    clock.at(2026, 11, 2, 9, 0)
    kit = make_merchant(uscc=valid_uscc(7, entity="92"), legal_name="王小明便利店",
                        bank_account=merchants.BankAccountInput(
        holder_name="王小明", account_number=PERSONAL_FIRST, bank_name="中国银行", account_type="personal"))
    # Card sales through the API: the number as digits, spaced and dashed.
    for i, (number, written) in enumerate(zip(SALE_PANS, (SALE_PANS[0], spaced(SALE_PANS[1], " "),
                                                          spaced(SALE_PANS[2], "-")), strict=True)):
        r = kit.sale(10000 + 1000 * i, pan=written)
        assert r.status_code == 201 and r.json()["masked_pan"] == pan.masked(number), r.content
    # A `payments import` file of sales from another system.
    rows = [{"external_id": f"EXT-{i}", "merchant_no": kit.merchant.merchant_no,
             "terminal_id": kit.terminal.terminal_id, "created_at": "2026-11-02T08:30:00", "channel": "card",
             "entry_mode": "chip", "card_type": "debit", "masked_pan": pan.masked(SALE_PANS[0]),
             "amount": "88.00", "stan": f"70000{i}", "rrn": f"61000000000{i}", "auth_code": "123456",
             "channel_txn_id": f"CUP{i:08d}"} for i in range(3)]
    path = tmp_path / "sales.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    assert import_file(path, show_progress=False) == (3, 3)
    # Settled and paid to the personal account through the sandbox bank.
    clock.settle(2026, 11, 2)
    assert clock.pay(2026, 11, 3).paid == 1
    # The owner changes to another debit card; the sandbox bank verifies it; the next payout goes
    # there, after the cool-off.
    clock.at(2026, 11, 3, 10, 0)
    change = change_account(kit.merchant, merchants.BankAccountInput(
        holder_name="王小明", account_number=spaced(PERSONAL_NEW, " "), bank_name="中国农业银行",
        account_type="personal"))  # the owner's code and a second staff member's approval, as it must go
    assert verify_account_change(account_id=change.id).is_current
    assert kit.sale(23400).status_code == 201
    clock.settle(2026, 11, 3)
    assert clock.pay(2026, 11, 4, 11).paid == 1
    assert {SettlementAccount.objects.get(id=p.account_id).account_number
            for p in Payout.objects.filter(batch__merchant=kit.merchant)} == {PERSONAL_FIRST, PERSONAL_NEW}
    # The bank's result file for those payouts (already recorded: loaded, changes nothing).
    lines = ["payout_id,amount,status,bank_ref,return_code,reason"]
    lines += [f"{p.id},{p.amount // 100}.{p.amount % 100:02d},paid,{p.bank_ref},,"
              for p in Payout.objects.filter(batch__merchant=kit.merchant)]
    assert import_results("\n".join(lines).encode())["unchanged"] == 2
    deliver()


# ------------------------------------------------------------------------- the dumps


def sqlite_dump() -> str:
    db = sqlite3.connect(settings.DATABASES["default"]["NAME"])
    try:
        return "\n".join(db.iterdump())
    finally:
        db.close()


def postgres_dump() -> str:
    db = settings.DATABASES["default"]
    pg_dump = shutil.which("pg_dump", path="/usr/lib/postgresql/15/bin:/usr/lib/postgresql/16/bin") or "pg_dump"
    out = subprocess.run(
        [pg_dump, "--data-only", "--no-owner", "-h", str(db["HOST"]), "-p", str(db["PORT"]),
         "-U", str(db["USER"]), str(db["NAME"])],
        check=True, capture_output=True, text=True, timeout=300)
    return out.stdout


def dump() -> str:
    return sqlite_dump() if connection.vendor == "sqlite" else postgres_dump()


_INSERT = re.compile(r'^INSERT INTO "?([^"\s(]+)"?')
_COPY = re.compile(r"^COPY (?:\w+\.)?\"?([^\s\"(]+)\"? \(([^)]*)\) FROM stdin;")


def hits(text: str) -> Iterator[tuple[str, str]]:
    """(table, column) of every full card number in a dump (core.pan's rule)."""
    table, columns = "", []
    for line in text.splitlines():
        m = _COPY.match(line)
        if m:
            table, columns = m.group(1), [c.strip().strip('"') for c in m.group(2).split(",")]
            continue
        if line == "\\.":
            table, columns = "", []
            continue
        if not pan.contains_pan(line):
            continue
        if columns:  # pg_dump: a tab-separated row of the COPY block
            for col, value in zip(columns, line.split("\t"), strict=False):
                if pan.contains_pan(value):
                    yield table, col
            continue
        m = _INSERT.match(line)
        name = m.group(1) if m else "?"
        yield from ((name, col) for col in columns_with_pan(name)) if m else [("?", line[:60])]


def columns_with_pan(table: str) -> list[str]:
    qn = connection.ops.quote_name
    found = []
    with connection.cursor() as cur:
        cols = [c.name for c in connection.introspection.get_table_description(cur, table)]
        cur.execute(f"SELECT {', '.join(f'CAST({qn(c)} AS TEXT)' for c in cols)} FROM {qn(table)}")
        for row in cur.fetchall():
            found += [c for c, v in zip(cols, row, strict=True) if v is not None and pan.contains_pan(v)]
    return sorted(set(found)) or ["(a column of the row)"]


# ------------------------------------------------------------------------------ tests


def test_the_scan_finds_a_card_number_where_one_is(transactional_db):
    """The scan is not blind: a card number written in clear to a table is found and named."""
    from daozhang.channels.models import SandboxFault

    SandboxFault.objects.create(channel=spaced(SALE_PANS[0], " "), kind="outage", active=False)
    assert ("channels_sandboxfault", "channel") in set(hits(dump()))


def test_no_full_card_number_in_a_dump_of_the_database_after_the_flows(
        transactional_db, make_merchant, monkeypatch, tmp_path, caplog, deliver_outbox):
    caplog.set_level(logging.DEBUG)
    run_flows(make_merchant, monkeypatch, tmp_path, deliver_outbox)
    text = dump()
    for table in ("payments_payment", "channels_sandboxbanktransfer", "merchants_settlementaccount"):
        assert table in text
    found = sorted(set(hits(text)))
    assert not found, f"full card numbers in the {connection.vendor} dump at (table, column): {found}"
    for number in ALL_PANS:
        assert number not in text and spaced(number, " ") not in text
    # What is kept instead is there: masked forms of the cards and the accounts.
    assert pan.masked(SALE_PANS[2]) in text
    assert f"{PERSONAL_NEW[:4]} **** {PERSONAL_NEW[-4:]}" in text  # the sandbox bank's transfer, masked
    logged = [r for r in caplog.records if pan.contains_pan(r.getMessage())]
    assert not logged, [f"{r.name}:{r.levelname}" for r in logged]


def test_an_old_sandbox_bank_row_is_converted_by_the_migration(transactional_db):
    """channels 0003 turns the clear account numbers of an existing database into the keyed
    hash and the masked form, and the bank still knows the account by its number."""
    from django.db.migrations.executor import MigrationExecutor

    from daozhang.channels.models import SandboxBankAccount, account_digest
    from daozhang.core.dbroles import as_owner

    with as_owner(connection):  # migrations run as the tables' owner (PostgreSQL: core.dbroles)
        executor = MigrationExecutor(connection)
        executor.migrate([("channels", "0002_sandboxbankaccount_sandboxbanktransfer")])
        old = executor.loader.project_state([("channels", "0002_sandboxbankaccount_sandboxbanktransfer")]).apps
        old.get_model("channels", "SandboxBankAccount").objects.create(account_number=PERSONAL_FIRST,
                                                                       holder_name="王小明")
        old.get_model("channels", "SandboxBankTransfer").objects.create(
            payout_id="0190aaaa-0000-7000-8000-000000000001", amount=100, account_number=PERSONAL_FIRST,
            holder_name="王小明", bank_ref="BK1", created_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    account = SandboxBankAccount.objects.for_number(PERSONAL_FIRST).get()
    assert account.account_hash == account_digest(PERSONAL_FIRST) and account.holder_name == "王小明"
    assert account.account_masked == f"{PERSONAL_FIRST[:4]} **** {PERSONAL_FIRST[-4:]}"
    assert not set(hits(dump()))
