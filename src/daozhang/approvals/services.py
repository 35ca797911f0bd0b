"""Four-eyes approval: the one mechanism every "needs a second person" rule goes through.

A domain below the faces registers a **kind** (`register`): the permission a checker
needs, and the handler that does the work once approved. Settlement registers its kinds
(adjustments above the limit, risky settlement-account changes); this package imports
no domain, so any domain may use it.

Rules, enforced here and not only in the pages:
- the checker is never the maker (same user id or same audit name), is active staff and
  has the kind's permission;
- a decision is one conditional UPDATE `… WHERE status = 'pending' AND expires_at > now`:
  of two checkers at once, or one clicking twice, exactly one changes the row, and the
  handler runs in that same transaction, so it runs exactly once and commits with the
  decision (a handler that raises rolls the decision back: the request stays pending);
- a request not decided within `APPROVAL_TTL_HOURS` expires (`expire_due`, a periodic
  job, and at the moment someone tries to decide it); the kind's `on_close` hears of a
  rejection, an expiry or a cancellation, so what waited on it can be closed too;
- every step is in the audit log (`approval.requested`, `.approved`, `.rejected`,
  `.expired`, `.cancelled`), under the request's merchant when it has one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.db import transaction

from daozhang.approvals.models import ApprovalRequest, ApprovalStatus
from daozhang.audit import services as audit
from daozhang.core import clock
from daozhang.core.errors import DomainError

Handler = Callable[[ApprovalRequest, str], dict[str, Any]]
Closer = Callable[[ApprovalRequest, str, str], None]


@dataclass(frozen=True)
class Kind:
    name: str  # "settlement.adjustment"
    permission: str  # what a checker needs: "settlement.approve_adjustment"
    label_zh: str
    label_en: str
    # Does the work; gets the request (decided, in the deciding transaction) and the
    # checker's audit name; returns what it made, kept on the request as `result`.
    on_approve: Handler
    # Told when the request ends without approval: (request, actor, why) — rejected,
    # expired or cancelled; runs in the same transaction as that end.
    on_close: Closer | None = None


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    """Register a kind (from an AppConfig.ready()); registering the same name again replaces it."""
    _KINDS[kind.name] = kind


def kind_of(name: str) -> Kind | None:
    return _KINDS.get(name)


def all_kinds() -> list[Kind]:
    return list(_KINDS.values())


def _ttl() -> dt.timedelta:
    return dt.timedelta(hours=settings.APPROVAL_TTL_HOURS)


def request_approval(*, kind: str, payload: dict[str, Any], summary_zh: str, summary_en: str, maker: str,
                     maker_user_id: int | None, merchant_id: uuid.UUID | None = None, object_type: str = "",
                     object_id: str = "") -> ApprovalRequest:
    """Record what the maker asks for, pending a checker; call it in the transaction of the
    change that waits on it (the request exists if and only if that change committed)."""
    if kind not in _KINDS:
        raise LookupError(f"approval kind {kind!r} is not registered")
    now = clock.now()
    with transaction.atomic():
        req = ApprovalRequest.objects.create(
            kind=kind, merchant_id=merchant_id, payload=payload, summary_zh=summary_zh[:300],
            summary_en=summary_en[:300], object_type=object_type, object_id=object_id, maker=maker,
            maker_user_id=maker_user_id, created_at=now, expires_at=now + _ttl())
        audit.record(actor=maker, action="approval.requested", obj_type="approval", obj_id=req.id,
                     merchant_id=merchant_id,
                     after={"kind": kind, "summary": summary_en, "expires_at": req.expires_at.isoformat(),
                            "object": f"{object_type}:{object_id}" if object_type else ""})
    return req


User = AbstractUser | AnonymousUser


def refusal(req: ApprovalRequest, user: User, actor: str) -> DomainError | None:
    """Why `user` may not decide `req`, or None. The pages hide the buttons with this; the
    services refuse with it, so a hand-made POST gets the same answer."""
    kind = _KINDS.get(req.kind)
    if kind is None:
        return DomainError("approval_kind_unknown", "kind", {"kind": req.kind}, status=409)
    if not (user.is_authenticated and user.is_active and getattr(user, "is_staff", False)):
        return DomainError("forbidden", None, status=403)
    if (req.maker_user_id is not None and user.pk == req.maker_user_id) or actor == req.maker:
        return DomainError("maker_cannot_approve", "checker", status=403)
    if not user.has_perm(kind.permission):
        return DomainError("forbidden", None, status=403)
    return None


def approve(*, request_id: uuid.UUID, user: User, actor: str, reason: str = "") -> ApprovalRequest:
    """Approve and run the kind's handler, once; see the module docstring."""
    return _decide(request_id=request_id, user=user, actor=actor, reason=reason.strip(), approve=True)


def reject(*, request_id: uuid.UUID, user: User, actor: str, reason: str) -> ApprovalRequest:
    """Refuse the request, with a reason the maker will read; nothing of it is done."""
    if not reason.strip():
        raise DomainError("required", "reason")
    return _decide(request_id=request_id, user=user, actor=actor, reason=reason.strip(), approve=False)


def _get(request_id: uuid.UUID) -> ApprovalRequest:
    req = ApprovalRequest.objects.filter(id=request_id).first()
    if req is None:
        raise DomainError("not_found", "request_id", status=404)
    return req


def _decide(*, request_id: uuid.UUID, user: User, actor: str, reason: str, approve: bool) -> ApprovalRequest:
    req = _get(request_id)
    refused = refusal(req, user, actor)
    if refused is not None:
        raise refused
    now = clock.now()
    if req.status == ApprovalStatus.PENDING and req.expires_at <= now:
        expire_due(now=now, ids=[req.id])
        raise DomainError("approval_expired", "request_id", status=409)
    kind = _KINDS[req.kind]
    status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    with transaction.atomic():
        won = ApprovalRequest.objects.filter(id=req.id, status=ApprovalStatus.PENDING, expires_at__gt=now).update(
            status=status, decided_at=now, checker=actor[:120], checker_user_id=user.pk, reason=reason[:300])
        if not won:
            req.refresh_from_db()
            raise DomainError("approval_decided", "request_id",
                              {"status": (req.get_status_display().split(" ")[0],
                                          req.get_status_display().split(" ")[-1])}, status=409)
        req.refresh_from_db()
        if approve:
            req.result = kind.on_approve(req, actor)
            req.save(update_fields=["result"])
        elif kind.on_close is not None:
            kind.on_close(req, actor, reason)
        audit.record(actor=actor, action=f"approval.{status}", obj_type="approval", obj_id=req.id,
                     merchant_id=req.merchant_id, before={"status": ApprovalStatus.PENDING},
                     after={"status": status, "kind": req.kind, "maker": req.maker, "reason": reason,
                            "result": req.result})
    return req


def cancel(*, request_id: uuid.UUID, actor: str, reason: str) -> bool:
    """End a pending request nobody decided, because what it was for is gone (a newer
    account change replaced the one waiting); True if it was pending. In the caller's
    transaction. The kind's `on_close` is not told: the caller is the one closing it."""
    now = clock.now()
    with transaction.atomic():
        n = ApprovalRequest.objects.filter(id=request_id, status=ApprovalStatus.PENDING).update(
            status=ApprovalStatus.CANCELLED, decided_at=now, checker=actor[:120], reason=reason[:300])
        if n:
            req = ApprovalRequest.objects.get(id=request_id)
            audit.record(actor=actor, action="approval.cancelled", obj_type="approval", obj_id=req.id,
                         merchant_id=req.merchant_id, before={"status": ApprovalStatus.PENDING},
                         after={"status": ApprovalStatus.CANCELLED, "kind": req.kind, "reason": reason})
    return bool(n)


EXPIRED_REASON = "not reviewed in time / 复核超时"


def expire_due(*, now: dt.datetime | None = None, ids: list[uuid.UUID] | None = None) -> int:
    """Mark pending requests past their time expired, each in its own transaction with its
    kind's `on_close`; returns how many. Run by the periodic job `approvals.expire`."""
    now = now or clock.now()
    qs = ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING, expires_at__lte=now)
    if ids is not None:
        qs = qs.filter(id__in=ids)
    n = 0
    for rid in list(qs.values_list("id", flat=True)[:1000]):
        with transaction.atomic():
            if not ApprovalRequest.objects.filter(id=rid, status=ApprovalStatus.PENDING, expires_at__lte=now).update(
                    status=ApprovalStatus.EXPIRED, decided_at=now, checker="system:approvals",
                    reason=EXPIRED_REASON):
                continue
            req = ApprovalRequest.objects.get(id=rid)
            kind = _KINDS.get(req.kind)
            if kind is not None and kind.on_close is not None:
                kind.on_close(req, "system:approvals", EXPIRED_REASON)
            audit.record(actor="system:approvals", action="approval.expired", obj_type="approval", obj_id=req.id,
                         merchant_id=req.merchant_id, before={"status": ApprovalStatus.PENDING},
                         after={"status": ApprovalStatus.EXPIRED, "kind": req.kind})
            n += 1
    return n
