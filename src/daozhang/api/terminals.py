"""Terminal endpoints: a merchant's own terminals; staff registration, binding and lifecycle."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from django.http import HttpResponse
from ninja import Router, Schema, Status

from daozhang.access.api_auth import MerchantRequest, StaffPermission, StaffRequest, require_perm
from daozhang.core.http import STAFF_ERRORS as ERRORS
from daozhang.core.http import idempotent
from daozhang.core.inputs import Code, Text
from daozhang.terminals import services
from daozhang.terminals.models import Terminal

router = Router(tags=["merchant 商户"])
staff_router = Router(tags=["staff: terminals 运营：终端"])


class TerminalOut(Schema):
    id: uuid.UUID
    serial_number: str
    terminal_id: str
    model: str
    status: str
    merchant_no: str | None
    install_address: str

    @staticmethod
    def of(t: Terminal) -> dict[str, object]:
        return {"id": t.id, "serial_number": t.serial_number, "terminal_id": t.terminal_id,
                "model": t.model, "status": t.status,
                "merchant_no": t.merchant.merchant_no if t.merchant else None,
                "install_address": t.install_address}


@router.get("/terminals", response={200: list[TerminalOut], **ERRORS}, summary="My terminals 我的终端")
def my_terminals(request: MerchantRequest) -> Status[list[dict[str, object]]]:
    qs = Terminal.objects.select_related("merchant").filter(merchant=request.merchant)
    return Status(200, [TerminalOut.of(t) for t in qs.order_by("terminal_id")])


class TerminalIn(Schema):
    # Letters are stored in capitals (lkl-a8-0001 is LKL-A8-0001).
    serial_number: Annotated[str, Code(r"^[A-Za-z0-9-]{6,40}$", "Device serial number: 6-40 letters, digits, -")]
    terminal_id: Annotated[str, Code(r"^[0-9A-Za-z]{8}$", "8 letters or digits (ISO 8583 field 41)")]
    model: Annotated[str, Text(60, required=False)] = ""


class BindIn(Schema):
    merchant_id: uuid.UUID
    install_address: Annotated[str, Text(200, required=False)] = ""


class TerminalStatusIn(Schema):
    status: Literal["in_stock", "active", "suspended", "retired"]
    reason: Annotated[str, Text(300, required=False)] = ""


def _out(t: Terminal) -> dict[str, object]:
    return TerminalOut.model_validate(TerminalOut.of(t)).model_dump(mode="json")


@staff_router.post("/terminals", auth=StaffPermission("terminals.add_terminal"),
                   response={201: TerminalOut, **ERRORS}, summary="Register a device 终端入库")
def register(request: StaffRequest, body: TerminalIn) -> HttpResponse:
    actor = require_perm(request, "terminals.add_terminal")
    return idempotent(request, f"staff:{request.staff_user.id}", lambda: (
        201, _out(services.register_terminal(serial_number=body.serial_number, terminal_id=body.terminal_id,
                                             model=body.model, actor=actor))))


@staff_router.post("/terminals/{terminal_pk}/bind", auth=StaffPermission("terminals.change_terminal"),
                   response={200: TerminalOut, **ERRORS},
                   summary="Bind to a merchant 绑定商户")
def bind(request: StaffRequest, terminal_pk: uuid.UUID, body: BindIn) -> HttpResponse:
    actor = require_perm(request, "terminals.change_terminal")
    return idempotent(request, f"staff:{request.staff_user.id}", lambda: (
        200, _out(services.bind_terminal(terminal_id=terminal_pk, merchant_id=body.merchant_id,
                                         install_address=body.install_address, actor=actor))))


@staff_router.post("/terminals/{terminal_pk}/status", auth=StaffPermission("terminals.change_terminal"),
                   response={200: TerminalOut, **ERRORS},
                   summary="Activate, suspend, unbind or retire 激活/停用/解绑/报废")
def status(request: StaffRequest, terminal_pk: uuid.UUID, body: TerminalStatusIn) -> HttpResponse:
    actor = require_perm(request, "terminals.change_terminal")
    return idempotent(request, f"staff:{request.staff_user.id}", lambda: (
        200, _out(services.set_terminal_status(terminal_id=terminal_pk, status=body.status, actor=actor,
                                               reason=body.reason))))
