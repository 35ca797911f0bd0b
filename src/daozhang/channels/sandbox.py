"""Deterministic sandbox channels (docs/sandbox.md has the table for users).

Outcomes are decided by the last two digits of the amount in fen, like card-network test
cards, so a demo, a test or a merchant's integration can reach every path on purpose:

| fen ends in | card network                       | WeChat Pay / Alipay                   |
| ----------- | ---------------------------------- | ------------------------------------- |
| 51          | declined 51 insufficient funds     | declined 51 (balance too low)         |
| 55          | declined 55 wrong PIN              | declined 55 (wrong payment password)  |
| 05          | declined 05 do not honour          | declined 05 (risk refused)            |
| 96          | failed 96 system error             | failed 96 system error                |
| 98          | unknown: debited, no answer (98);  | unknown: payer still confirming (98); |
|             | a status query finds it approved   | a query finds it paid                 |
| 97          | unknown (98); a query finds        | unknown (98); a query finds the order |
|             | nothing debited                    | closed, not paid                      |
| other       | approved 00                        | approved 00                           |

An active outage fault makes every call fail with 96 before anything is debited.
Card type comes from the BIN: 625…, 628…, 4…, 5… are credit cards, everything else debit.
"""

from __future__ import annotations

import hashlib
import time

from daozhang.channels.base import AuthRequest, ChannelResult, OriginalRef, Outcome
from daozhang.channels.models import SandboxFault

_FAULT_TTL_SECONDS = 1.0
_fault_cache: dict[str, tuple[float, bool]] = {}

DECLINES = {
    51: ("51", "insufficient funds 余额不足"),
    55: ("55", "wrong PIN 密码错误"),
    5: ("05", "do not honour 发卡行拒绝"),
}


def outage_active(channel: str) -> bool:
    """Read the fault switch at most once a second per process: it is on every call."""
    now = time.monotonic()
    hit = _fault_cache.get(channel)
    if hit and now - hit[0] < _FAULT_TTL_SECONDS:
        return hit[1]
    active = SandboxFault.objects.filter(channel=channel, kind="outage", active=True).exists()
    _fault_cache[channel] = (now, active)
    return active


def set_outage(channel: str, active: bool) -> None:
    """Switch a fault for every process (each re-reads it within a second)."""
    SandboxFault.objects.update_or_create(channel=channel, kind="outage", defaults={"active": active})
    _fault_cache.pop(channel, None)


def card_type_of_bin(pan_or_bin: str) -> str:
    """The sandbox issuers' BIN table: 625…, 628…, 4…, 5… are credit cards, the rest debit."""
    return "credit" if pan_or_bin.startswith(("625", "628", "4", "5")) else "debit"


def _digits(seed: str, n: int) -> str:
    return str(int(hashlib.sha256(seed.encode()).hexdigest(), 16))[:n].rjust(n, "0")


class _Sandbox:
    name = "sandbox"
    prefix = "SB"

    def authorize(self, req: AuthRequest) -> ChannelResult:
        if outage_active(self.name):
            return ChannelResult(Outcome.FAILED, "96", "channel outage 通道中断")
        card_type = self._card_type(req)
        tail = req.amount_fen % 100
        if tail in DECLINES:
            code, msg = DECLINES[tail]
            return ChannelResult(Outcome.DECLINED, code, msg, card_type=card_type)
        if tail == 96:
            return ChannelResult(Outcome.FAILED, "96", "system error 系统故障", card_type=card_type)
        if tail in (97, 98):
            return ChannelResult(Outcome.UNKNOWN, "98", "no response 无应答", card_type=card_type)
        return self._approved(str(req.payment_id), card_type)

    def void(self, original: OriginalRef) -> ChannelResult:
        if outage_active(self.name):
            return ChannelResult(Outcome.FAILED, "96", "channel outage 通道中断")
        return ChannelResult(Outcome.APPROVED, "00", "voided 已撤销", rrn=_digits(f"void{original.payment_id}", 12))

    def reverse(self, original: OriginalRef) -> ChannelResult:
        if outage_active(self.name):
            return ChannelResult(Outcome.FAILED, "96", "channel outage 通道中断")
        return ChannelResult(Outcome.APPROVED, "00", "reversed 已冲正")

    def query(self, original: OriginalRef) -> ChannelResult:
        if outage_active(self.name):
            return ChannelResult(Outcome.FAILED, "96", "channel outage 通道中断")
        if original.amount_fen % 100 == 98:
            return self._approved(str(original.payment_id), "")
        return ChannelResult(Outcome.DECLINED, "25", "original not found 原交易不存在")

    def _card_type(self, req: AuthRequest) -> str:
        return ""

    def _approved(self, seed: str, card_type: str) -> ChannelResult:
        return ChannelResult(
            Outcome.APPROVED, "00", "approved 交易成功",
            rrn=_digits("rrn" + seed, 12), auth_code=_digits("auth" + seed, 6),
            channel_txn_id=f"{self.prefix}{_digits('txn' + seed, 26)}", card_type=card_type,
        )


class SandboxCardNetwork(_Sandbox):
    name = "card"
    prefix = "UP"

    def _card_type(self, req: AuthRequest) -> str:
        return card_type_of_bin(req.pan or "")


class SandboxWeChatPay(_Sandbox):
    name = "wechat"
    prefix = "42"


class SandboxAlipay(_Sandbox):
    name = "alipay"
    prefix = "20"
