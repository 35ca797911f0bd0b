"""Issue 11, item 1: production pays out through the file bank. A whole payout cycle: the
payout run writes one request file (atomically, into the outbox), a second run and a
crash between journalling and publishing never put a payout id in a second file, the
payouts wait `accepted`, and the bank's result file (`daozhang payouts import`) pays or
returns them, the books balanced throughout. On both databases: the state is the Payout
rows (no table of the file bank's own)."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command

from daozhang.channels import bank as bank_module
from daozhang.channels.bank import PayeeAccount, TransferState
from daozhang.channels.file_bank import REQUEST_COLUMNS, FileBank
from daozhang.ledger.selectors import check_ledger
from daozhang.merchants.models import SettlementAccount
from daozhang.settlement.models import BatchStatus, Payout, PayoutStatus
from daozhang.settlement.payouts import run_payouts
from tests.settlement_helpers import Clock


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def file_bank(settings, tmp_path):
    outbox, sent = tmp_path / "outbox", tmp_path / "outbox-sent"
    outbox.mkdir()
    sent.mkdir()
    settings.BANK_BACKEND = "daozhang.channels.file_bank.FileBank"
    settings.BANK_OUTBOX_DIR, settings.BANK_SENT_DIR = str(outbox), str(sent)
    bank_module.get_bank.cache_clear()
    yield outbox, sent
    bank_module.get_bank.cache_clear()


def _requests(outbox: Path) -> list[dict[str, str]]:
    rows = []
    for f in sorted(outbox.iterdir()):
        assert not f.name.startswith("."), "a temporary file was left in the outbox"
        reader = csv.DictReader(io.StringIO(f.read_text("utf-8")))
        assert reader.fieldnames == REQUEST_COLUMNS
        rows += list(reader)
    return rows


def test_a_whole_payout_cycle_through_the_file_bank(make_merchant, clock, file_bank, tmp_path):
    outbox, sent = file_bank
    a, b = make_merchant(), make_merchant()
    clock.at(2026, 11, 2, 10, 0)
    assert a.sale(30000).status_code == 201 and b.sale(45000).status_code == 201
    clock.settle(2026, 11, 2)

    r = clock.pay(2026, 11, 3)
    assert (r.submitted, r.paid, r.waiting) == (2, 0, 2)  # submitted, the result pending
    [request_file] = list(outbox.iterdir())
    assert oct(request_file.stat().st_mode & 0o777) == "0o600"
    rows = _requests(outbox)
    payouts = {str(p.id): p for p in Payout.objects.select_related("account")}
    assert {row["payout_id"] for row in rows} == set(payouts)
    for row in rows:
        p = payouts[row["payout_id"]]
        assert row["amount"] == f"{p.amount // 100}.{p.amount % 100:02d}" and row["currency"] == "CNY"
        assert row["account_number"] == p.account.account_number and row["holder_name"] == p.account.holder_name
    assert all(p.status == PayoutStatus.ACCEPTED for p in Payout.objects.all())
    # The sent journal keeps ids and amounts, not the account numbers.
    journal = "".join(f.read_text() for f in sent.glob("*.ids"))
    assert all(p.account.account_number not in journal for p in payouts.values())

    clock.at(2026, 11, 3, 9, 5)
    r = run_payouts()  # again: nothing new is written, the two still wait for the bank
    assert (r.submitted, r.waiting) == (0, 2) and len(list(outbox.iterdir())) == 1

    # The bank's transfer job took the file; its answer comes back as a result file.
    request_file.unlink()
    pa, pb = (next(p for p in payouts.values() if p.merchant_id == k.merchant.id) for k in (a, b))
    result = tmp_path / "result.csv"
    result.write_text("payout_id,amount,status,bank_ref,return_code,reason\n"
                      f"{pa.id},{pa.amount // 100}.{pa.amount % 100:02d},paid,BK1,,\n"
                      f"{pb.id},{pb.amount // 100}.{pb.amount % 100:02d},returned,BK2,R01,\n", "utf-8")
    call_command("payouts", "import", str(result))
    pa.refresh_from_db()
    pb.refresh_from_db()
    assert pa.status == PayoutStatus.PAID and pa.bank_ref == "BK1" and pa.batch.status == BatchStatus.PAID
    assert pb.status == PayoutStatus.RETURNED and pb.return_code == "R01"
    assert check_ledger().ok
    call_command("payouts", "import", str(result))  # loaded twice: nothing changes
    assert check_ledger().ok

    # Even after the bank took the file away, the journal keeps the ids from a second file.
    clock.at(2026, 11, 3, 10, 0)
    run_payouts()
    assert list(outbox.iterdir()) == []


def test_a_run_killed_between_journal_and_outbox_publishes_the_file_once(file_bank, monkeypatch):
    outbox, sent = file_bank
    bank = FileBank()
    pid = uuid.uuid4()
    payee = PayeeAccount("测试商户有限公司", "31001234567890123", "中国建设银行", "corporate")

    def killed(name: str, content: bytes) -> None:
        raise KeyboardInterrupt("killed after the journal, before the outbox")

    monkeypatch.setattr(bank, "_publish", killed)
    with pytest.raises(KeyboardInterrupt):
        bank.transfer_many([(pid, 12345, payee)])
    assert list(outbox.iterdir()) == [] and len(list(sent.glob("*.pending"))) == 1
    monkeypatch.undo()

    restarted = FileBank()
    # The next run asks first: the payout is known (accepted), and the file goes out now.
    assert restarted.status_many([pid])[pid].state == TransferState.ACCEPTED
    restarted.transfer_many([(pid, 12345, payee)])
    assert [row["payout_id"] for row in _requests(outbox)] == [str(pid)]
    assert list(sent.glob("*.pending")) == []
    assert restarted.status_many([uuid.uuid4()]).popitem()[1].state == TransferState.UNKNOWN


def test_the_file_bank_gives_no_verdict_on_an_account_so_staff_verify_it(file_bank, merchant_kit):
    """No bank verdict: one request in the approvals queue, however often the job asks;
    a staff member's approval makes the account current (audited), a rejection ends it."""
    from daozhang.approvals import services as approvals
    from daozhang.approvals.models import ApprovalRequest
    from daozhang.audit.models import AuditEvent
    from daozhang.merchants.services import BankAccountInput
    from daozhang.settlement.accounts import BANK_CHECK_KIND, verify_account_change
    from tests.account_helpers import change_account, reviewer

    merchant = merchant_kit.merchant
    pending = change_account(merchant, BankAccountInput(
        holder_name=merchant.legal_name, account_number="62220200001111", bank_name="中国银行",
        account_type="corporate"))
    for _ in range(3):  # the verification job, run after run
        after = verify_account_change(account_id=pending.id)
        assert after.verified_at is None and after.rejected_at is None and not after.is_current
    [req] = ApprovalRequest.objects.filter(kind=BANK_CHECK_KIND, status="pending")
    assert "62220200001111" not in req.summary_en + req.summary_zh  # shown masked
    staff = reviewer()
    approvals.approve(request_id=req.id, user=staff, actor=f"staff:{staff.get_username()}")
    now_current = SettlementAccount.objects.get(id=pending.id)
    assert now_current.is_current and now_current.verified_at is not None
    assert AuditEvent.objects.filter(action="settlement_account.verified", object_id=str(pending.id),
                                     actor=f"staff:{staff.get_username()}").exists()

    other = change_account(merchant, BankAccountInput(
        holder_name=merchant.legal_name, account_number="62220200002222", bank_name="中国银行",
        account_type="corporate"))
    verify_account_change(account_id=other.id)
    req2 = ApprovalRequest.objects.get(kind=BANK_CHECK_KIND, status="pending")
    approvals.reject(request_id=req2.id, user=staff, actor=f"staff:{staff.get_username()}",
                     reason="户名与开户许可证不符")
    ended = SettlementAccount.objects.get(id=other.id)
    assert ended.rejected_at is not None and not ended.is_current and "户名与开户许可证不符" in ended.rejection_reason
    assert SettlementAccount.objects.get(id=pending.id).is_current  # the verified one stays
