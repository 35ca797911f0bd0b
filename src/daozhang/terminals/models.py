"""POS devices: one serial number per device, one terminal id, bound to one merchant."""

from __future__ import annotations

from django.db import models

from daozhang.core.ids import new_id


class TerminalStatus(models.TextChoices):
    IN_STOCK = "in_stock", "In stock 库存"
    BOUND = "bound", "Bound, not activated 已绑定待激活"
    ACTIVE = "active", "Active 已激活"
    SUSPENDED = "suspended", "Suspended 已停用"
    RETIRED = "retired", "Retired 已报废"


# Which status may follow which; everything else is refused with bad_transition.
TRANSITIONS: dict[str, set[str]] = {
    TerminalStatus.IN_STOCK: {TerminalStatus.BOUND, TerminalStatus.RETIRED},
    TerminalStatus.BOUND: {TerminalStatus.ACTIVE, TerminalStatus.IN_STOCK, TerminalStatus.SUSPENDED},
    TerminalStatus.ACTIVE: {TerminalStatus.SUSPENDED, TerminalStatus.IN_STOCK},
    TerminalStatus.SUSPENDED: {TerminalStatus.ACTIVE, TerminalStatus.IN_STOCK, TerminalStatus.RETIRED},
    TerminalStatus.RETIRED: set(),
}


class Terminal(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    serial_number = models.CharField("SN 序列号", max_length=40, unique=True)
    terminal_id = models.CharField("TID 终端号", max_length=8, unique=True)
    model = models.CharField(max_length=60, default="")
    # No database constraint: terminals are a reference table (terminals 0002).
    merchant = models.ForeignKey(
        "merchants.Merchant", null=True, blank=True, on_delete=models.PROTECT, related_name="terminals",
        db_constraint=False,
    )
    status = models.CharField(max_length=12, choices=TerminalStatus.choices, default=TerminalStatus.IN_STOCK)
    install_address = models.CharField(max_length=200, blank=True, default="")
    bound_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["merchant", "status"], name="terminal_merchant_status")]

    def __str__(self) -> str:
        return f"{self.terminal_id} ({self.serial_number})"
