"""A bank reached by files: payout request files out, the bank's result files in.

Most banks take batch payouts (代付) as a file delivered over SFTP or a bank portal, and
answer with a result file. This adapter writes the request files (docs/formats.md#payout-
request-file-file-bank) into an outbox directory that the bank's transfer job empties;
the answers come back through the result-file import (`daozhang payouts import FILE`,
settlement/payout_files.py). Until then a payout is `accepted` (submitted, result pending).

Sending is idempotent by payout id without a table of its own: every file is first
journalled in the sent directory (DAOZHANG_BANK_SENT_DIR), and an id in the journal is
never written again. Each file moves through three atomic steps, each a rename within one
directory after fsync:
  1. sent/NAME.pending  the whole file (what to publish again after a crash);
  2. outbox/NAME        the request file, for the bank;
  3. sent/NAME.ids      payout ids and amounts only; NAME.pending is then removed, so the
                        account numbers stay only in the file the bank takes.
A process killed between 1 and 3 leaves a .pending that the next call publishes again
under the same name (the bank's job must refuse a file name it has already taken, and a
payout id it has already paid: both are unique, docs/formats.md). One lock file keeps two
payout runs from writing the same ids.

Account verification: a file bank cannot check a name and number while the merchant
waits (no penny test), so `verify` gives no verdict (ACCEPTED): the change stays pending
until staff verify it; the first payout's result file is the bank's own check (a wrong
holder name comes back `returned` R01, and the merchant is asked to correct it).
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import hashlib
import io
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from daozhang.channels.bank import PayeeAccount, TransferResult, TransferState
from daozhang.core.money import Money

REQUEST_COLUMNS = ["payout_id", "amount", "currency", "holder_name", "account_number", "account_type", "bank_name"]
NO_VERIFICATION = ("The file bank cannot verify an account; staff verify it / 文件银行无法自动验证账户，由运营人员审核")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file that is either absent or whole: a hidden temporary file in the same
    directory (owner-only), fsync, rename, fsync the directory."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class FileBank:
    def __init__(self, outbox: str | None = None, sent: str | None = None) -> None:
        self.outbox = Path(outbox or settings.BANK_OUTBOX_DIR)
        self.sent = Path(sent or settings.BANK_SENT_DIR)
        if not str(outbox or settings.BANK_OUTBOX_DIR) or not str(sent or settings.BANK_SENT_DIR):
            raise RuntimeError("DAOZHANG_BANK_OUTBOX is not set (docs/operations.md#the-file-bank)")
        self._read: dict[str, frozenset[uuid.UUID]] = {}  # journal files never change once written

    # -- the journal ---------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.sent / ".lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _journalled(self) -> set[uuid.UUID]:
        ids: set[uuid.UUID] = set()
        for path in self.sent.iterdir():
            if path.suffix not in (".ids", ".pending") or path.name.startswith("."):
                continue
            if path.name not in self._read:
                rows = csv.DictReader(io.StringIO(path.read_text("utf-8")))
                self._read[path.name] = frozenset(uuid.UUID(row["payout_id"]) for row in rows)
            ids |= self._read[path.name]
        return ids

    def _finish_pending(self) -> None:
        """Publish what a killed process journalled but may not have published."""
        for pending in sorted(self.sent.glob("*.pending")):
            name = pending.name.removesuffix(".pending")
            if not (self.sent / f"{name}.ids").exists():
                self._publish(name, pending.read_bytes())
            pending.unlink()
            _fsync_dir(self.sent)

    def _publish(self, name: str, content: bytes) -> None:
        write_atomically(self.outbox / name, content)
        rows = csv.DictReader(io.StringIO(content.decode("utf-8")))
        ids = "payout_id,amount\n" + "".join(f"{r['payout_id']},{r['amount']}\n" for r in rows)
        write_atomically(self.sent / f"{name}.ids", ids.encode())

    # -- the Bank interface ---------------------------------------------------------------
    def transfer_many(self, items: list[tuple[uuid.UUID, int, PayeeAccount]]) -> None:
        with self._locked():
            self._finish_pending()
            done = self._journalled()
            todo = [(pid, amount, payee) for pid, amount, payee in items if pid not in done]
            if not todo:
                return
            for pid, _, payee in todo:
                if not payee.account_number.isdigit():  # e.g. a number no field key could decrypt
                    raise ValueError(f"payout {pid}: the account number is not a number; nothing was written")
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(REQUEST_COLUMNS)
            for pid, amount, payee in sorted(todo, key=lambda t: str(t[0])):
                writer.writerow([str(pid), Money(amount).yuan_str(), "CNY", payee.holder_name,
                                 payee.account_number, payee.account_type, payee.bank_name])
            digest = hashlib.sha256(",".join(sorted(str(t[0]) for t in todo)).encode()).hexdigest()[:12]
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            name = f"daozhang-payouts-{stamp}-{digest}.csv"
            content = out.getvalue().encode("utf-8")
            write_atomically(self.sent / f"{name}.pending", content)
            self._publish(name, content)
            (self.sent / f"{name}.pending").unlink()
            _fsync_dir(self.sent)

    def status_many(self, payout_ids: list[uuid.UUID]) -> dict[uuid.UUID, TransferResult]:
        """ACCEPTED for every payout written to a request file (its result comes by file),
        UNKNOWN for the others: final answers come only through `daozhang payouts import`."""
        with self._locked():
            self._finish_pending()
            done = self._journalled()
        return {pid: TransferResult(TransferState.ACCEPTED if pid in done else TransferState.UNKNOWN)
                for pid in payout_ids}

    def verify(self, payee: PayeeAccount) -> TransferResult:
        """No verdict: a file bank has no real-time account check (see the module's note)."""
        return TransferResult(TransferState.ACCEPTED, reason=NO_VERIFICATION)
