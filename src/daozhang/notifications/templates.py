"""The message for each event kind, in 简体中文 and English, filled from the event's data.

Python format strings (`str.format_map`), not Django templates: a message is one sentence,
and what varies in it (credited or deducted, a tail only when there are returned payouts)
is computed by a small function per kind from the event's data, where it can be tested,
rather than written as template logic. Values are substituted, never interpreted, so a
merchant's text with braces in it is safe. Amounts arrive as int fen and are shown with
`Money(fen).display()`.

An event kind with no template here is not a notification (the subscribers only listen to
`KINDS`); a template whose field is missing from the event raises `KeyError`, and the
delivery fails visibly (retried, then dead in the console) instead of sending half a sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from daozhang.core.money import Money


def yuan(fen: int) -> str:
    return Money(int(fen)).display()


Fields = Callable[[dict[str, Any]], dict[str, Any]]


def _amount(d: dict[str, Any]) -> dict[str, Any]:
    return {"amount": yuan(d["amount"])}


def _adjustment(d: dict[str, Any]) -> dict[str, Any]:
    credit = int(d["amount"]) > 0
    return {"amount": yuan(abs(int(d["amount"]))), "direction_en": "credited to" if credit else "deducted from",
            "direction_zh": "调增" if credit else "调减"}


def _account_verified(d: dict[str, Any]) -> dict[str, Any]:
    n = int(d["repaid"])
    return {"tail_en": f"; {n} returned payout(s) will be paid to it." if n else ".",
            "tail_zh": f"，{n} 笔退回款项将重新出款。" if n else "。"}


@dataclass(frozen=True)
class Template:
    subject_zh: str
    subject_en: str
    zh: str
    en: str
    fields: Fields | None = None  # display values computed from the data (amounts, wording)


TEMPLATES: dict[str, Template] = {
    "payout_paid": Template(
        "到账通知", "Payout arrived",
        "{amount} 已到账（银行流水号 {bank_ref}）。",
        "{amount} has arrived in your account (bank ref {bank_ref}).", _amount),
    "payout_returned": Template(
        "出款退回", "Payout returned",
        "您的 {amount} 出款被银行退回：{reason}。请更正结算账户后将重新出款。",
        "Your payout of {amount} was returned by the bank: {reason}. Correct your settlement account to be paid "
        "again.", _amount),
    "adjustment": Template(
        "账户调整", "Account adjustment",
        "{actor} 对您的账户{direction_zh} {amount}：{reason}",
        "{amount} was {direction_en} your account by {actor}: {reason}", _adjustment),
    "funds_frozen": Template(
        "资金冻结", "Funds held",
        "您的 {amount} 资金因审核被冻结（案件 {case_ref}）：{reason}",
        "{amount} of your funds is held for review (case {case_ref}): {reason}", _amount),
    "funds_released": Template(
        "资金解冻", "Funds released",
        "案件 {case_ref} 冻结的 {amount} 已解冻。",
        "{amount} held under case {case_ref} is released.", _amount),
    "case_opened": Template(
        "工单已创建", "Case opened",
        "已为您创建工单 {case_no}，客服将尽快答复：{subject}",
        "We opened case {case_no} and will answer you: {subject}"),
    "case_resolved": Template(
        "工单已处理", "Case resolved",
        "工单 {case_no} 已处理完毕：{note}",
        "Case {case_no} is resolved: {note}"),
    "account_change_requested": Template(
        "结算账户变更申请", "Settlement-account change requested",
        "商户门户中提交了将结算账户变更为 {holder} {account} 的申请，确认验证码并经审核、银行验证后生效。"
        "如非本人操作，请立即联系客服。",
        "A change of your settlement account to {holder} {account} was requested in the portal; it takes effect only "
        "after the code is confirmed, it is reviewed and the bank verifies it. If this was not you, call us now."),
    "account_rejected": Template(
        "结算账户未通过验证", "Settlement account not verified",
        "您的新结算账户未通过验证：{reason}。",
        "Your new settlement account was not verified: {reason}."),
    "account_verified": Template(
        "结算账户已验证", "Settlement account verified",
        "您的结算账户 {account} 已验证通过{tail_zh}",
        "Your settlement account {account} is verified{tail_en}", _account_verified),
}

KINDS: tuple[str, ...] = tuple(TEMPLATES)


@dataclass(frozen=True)
class Rendered:
    subject_zh: str
    subject_en: str
    zh: str
    en: str

    @property
    def subject(self) -> str:
        return f"{self.subject_zh} / {self.subject_en}"

    @property
    def text(self) -> str:
        """Both languages, Chinese first: what an SMS or an e-mail body carries."""
        return f"{self.zh}\n{self.en}"


def render(kind: str, data: dict[str, Any]) -> Rendered:
    """The message for an event; `KeyError` if the kind has no template or a field is missing."""
    t = TEMPLATES[kind]
    values = {**data, **(t.fields(data) if t.fields else {})}
    return Rendered(t.subject_zh, t.subject_en, t.zh.format_map(values), t.en.format_map(values))
