"""Terminal registration and lifecycle. Each function is one transaction, audited."""

from __future__ import annotations

import re
import uuid

from django.db import IntegrityError, transaction

from daozhang.audit import services as audit
from daozhang.core import clock
from daozhang.core.errors import DomainError
from daozhang.merchants.models import Merchant, MerchantStatus
from daozhang.terminals.models import TRANSITIONS, Terminal, TerminalStatus

_SN = re.compile(r"^[A-Z0-9-]{6,40}$")
_TID = re.compile(r"^[0-9A-Z]{8}$")


def register_terminal(*, serial_number: str, terminal_id: str, model: str, actor: str) -> Terminal:
    sn = (serial_number or "").strip().upper()
    tid = (terminal_id or "").strip().upper()
    if not _SN.match(sn):
        raise DomainError("invalid", "serial_number")
    if not _TID.match(tid):
        raise DomainError("invalid", "terminal_id")
    if Terminal.objects.filter(serial_number=sn).exists():
        raise DomainError("duplicate", "serial_number")
    if Terminal.objects.filter(terminal_id=tid).exists():
        raise DomainError("duplicate", "terminal_id")
    try:
        with transaction.atomic():
            t = Terminal.objects.create(serial_number=sn, terminal_id=tid, model=model.strip()[:60])
            audit.record(actor=actor, action="terminal.register", obj_type="terminal", obj_id=t.id,
                         after={"serial_number": sn, "terminal_id": tid})
    except IntegrityError as exc:
        raise DomainError("duplicate", "serial_number") from exc
    return t


def bind_terminal(*, terminal_id: uuid.UUID, merchant_id: uuid.UUID, install_address: str, actor: str) -> Terminal:
    """Bind a terminal in stock to exactly one merchant."""
    with transaction.atomic():
        t = _locked(terminal_id)
        merchant = Merchant.objects.filter(id=merchant_id).first()
        if merchant is None:
            raise DomainError("unknown_merchant", "merchant_id", status=404)
        if merchant.status != MerchantStatus.ACTIVE:
            raise DomainError("merchant_not_active", "merchant_id", {"status": merchant.status})
        if t.merchant_id is not None:
            raise DomainError("terminal_bound", "terminal_id", status=409)
        _check(t, TerminalStatus.BOUND)
        t.merchant = merchant
        t.status = TerminalStatus.BOUND
        t.install_address = install_address.strip()[:200]
        t.bound_at = clock.now()
        t.save()
        audit.record(actor=actor, action="terminal.bind", obj_type="terminal", obj_id=t.id,
                     merchant_id=merchant.id, before={"status": TerminalStatus.IN_STOCK},
                     after={"status": t.status, "merchant_no": merchant.merchant_no,
                            "install_address": t.install_address})
    return t


def set_terminal_status(*, terminal_id: uuid.UUID, status: str, actor: str, reason: str = "") -> Terminal:
    """Activate, suspend, unbind (back to stock) or retire a terminal."""
    if status not in TerminalStatus.values or status == TerminalStatus.BOUND:
        raise DomainError("invalid", "status")
    with transaction.atomic():
        t = _locked(terminal_id)
        before = {"status": t.status, "merchant_id": str(t.merchant_id) if t.merchant_id else None}
        merchant_id = t.merchant_id
        _check(t, status)
        t.status = status
        if status == TerminalStatus.ACTIVE and t.activated_at is None:
            t.activated_at = clock.now()
        if status == TerminalStatus.IN_STOCK:
            t.merchant = None
            t.bound_at = None
            t.activated_at = None
        t.save()
        audit.record(actor=actor, action=f"terminal.{status}", obj_type="terminal", obj_id=t.id,
                     merchant_id=merchant_id, before=before,
                     after={"status": status, "reason": reason})
    return t


def _locked(terminal_id: uuid.UUID) -> Terminal:
    t = Terminal.objects.select_for_update().filter(id=terminal_id).first()
    if t is None:
        raise DomainError("not_found", "terminal_id", status=404)
    return t


def _check(t: Terminal, target: str) -> None:
    if target not in TRANSITIONS[t.status]:
        raise DomainError("bad_transition", "status", {"current": t.status, "target": target}, 409)
