"""The one catalogue of reasons money has or has not arrived (docs/where-is-my-money.md#the-cause-catalogue).

Every trace ends in exactly one of these causes; the portal, the API, the CLI, support
cases and FAQ answers all read the same words from here. A money flow's source may add the
causes of the notes it points out (`settlement.sources.Wording`); `cause` and `catalogue`
include them. Placeholders come from the trace;
a placeholder whose value is an (English, 中文) pair takes the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass

from daozhang.settlement.sources import all_sources


@dataclass(frozen=True)
class Cause:
    code: str
    title: tuple[str, str]  # (English, 简体中文)
    explain: tuple[str, str]
    next_step: tuple[str, str]


def _c(code: str, title: tuple[str, str], explain: tuple[str, str], next_step: tuple[str, str]) -> Cause:
    return Cause(code, title, explain, next_step)


CAUSES: dict[str, Cause] = {c.code: c for c in [
    _c("not_due", ("Not due yet", "未到结算时间"),
       ("{amount} is settled under {cycle} with the batch of {settlement_date} and is due to arrive on "
        "{expected} ({rule}).",
        "{amount} 按 {cycle} 计入 {settlement_date} 的结算批次，预计 {expected} 到账（{rule}）。"),
       ("Nothing to do: it arrives on {expected}.", "无需操作，预计 {expected} 到账。")),
    _c("declined", ("Declined — no money moved", "交易失败，未扣款"),
       ("The {channel} answered {code}: {reason}. The payer was not charged and nothing is owed to you.",
        "{channel}返回 {code}：{reason}。付款人未被扣款，此笔交易没有应结款项。"),
       ("Ask the customer to pay again, with another card or method if needed.",
        "请顾客重新付款，必要时更换卡片或支付方式。")),
    _c("channel_outage", ("Channel outage — no money moved", "通道故障，未扣款"),
       ("The {channel} was unavailable ({code}: {reason}); the payer was not charged.",
        "{channel}不可用（{code}：{reason}），付款人未被扣款。"),
       ("Take the payment again; if the outage lasts, use another payment method.",
        "请重新收款；如故障持续，请更换支付方式。")),
    _c("unknown", ("Result unknown — awaiting reversal or confirmation", "结果未知，等待冲正或确认"),
       ("The {channel} did not answer in time. If the payer was debited, the payment is {resolution} by "
        "{deadline} automatically.",
        "{channel}未及时应答。如付款人已被扣款，系统将于 {deadline} 前自动{resolution}。"),
       ("Do not hand over the goods until it is confirmed; if the customer was debited the money goes "
        "back to them, typically within 1–7 working days.",
        "确认前请勿交付商品；如顾客已被扣款，款项将退回，通常 1–7 个工作日。")),
    _c("undone", ("Voided or reversed — nothing to pay", "已撤销或冲正，无应结款项"),
       ("The sale was {how} on {when}; the payer's money was released and nothing is owed for it.",
        "该交易已于 {when} {how}，付款人资金已退回，无应结款项。"),
       ("Nothing to do.", "无需操作。")),
    _c("frozen", ("Frozen by risk or compliance review", "风控/合规审核冻结"),
       ("{amount} is held under case {case} since {since}: {reason}.",
        "{amount} 自 {since} 起因案件 {case} 被冻结：{reason}。"),
       ("Send the receipts or proof asked for to customer service, quoting case {case}; the money is paid "
        "with the next batch after release.",
        "请向客服提交所需小票或证明并注明案件号 {case}；解冻后随下一批次结算。")),
    _c("held", ("Payout held for review", "出款暂缓，审核中"),
       ("The batch of {settlement_date} ({net}) is settled but its payout is held: {why}.",
        "{settlement_date} 批次（{net}）已结算，但暂缓出款：{why}。"),
       ("Contact customer service to resolve the review.", "请联系客服处理审核事项。")),
    _c("calendar_gap", ("Waiting for the working-day calendar", "等待工作日历"),
       ("The arrival date cannot be computed: no working-day calendar for {year} has been loaded yet. "
        "Settlement for these days waits until operations load it.",
        "尚未导入 {year} 年工作日历，无法计算到账日期；相关结算将在运营导入后进行。"),
       ("Nothing to do; operations have been alerted.", "无需操作，运营人员已收到提醒。")),
    _c("carried_forward", ("Carried forward to the next batch", "结转至下一批次"),
       ("The batch of {settlement_date} came to {net}, {why}, so it is carried into the next batch.",
        "{settlement_date} 批次金额为 {net}，{why}，因此结转至下一批次。"),
       ("Nothing to do: it is netted against your next sales.", "无需操作，将与后续交易合并结算。")),
    _c("payout_pending", ("Payout due today", "今日出款"),
       ("The batch of {settlement_date} ({net}) is due today ({expected}) and queued for the bank.",
        "{settlement_date} 批次（{net}）今日（{expected}）出款，已排队提交银行。"),
       ("Nothing to do.", "无需操作。")),
    _c("bank_outage", ("Bank delay — payout retrying", "银行故障，出款重试中"),
       ("The bank was unavailable when {amount} was sent; it is retried automatically, next at {next_try}.",
        "出款 {amount} 时银行不可用，系统自动重试，下次 {next_try}。"),
       ("Nothing to do; the backlog is paid once the bank is back.", "无需操作，银行恢复后将补发。")),
    _c("account_change_pending", ("New bank account awaiting verification", "新结算账户待验证"),
       ("{amount} waits until your new settlement account ({account}) is verified by the bank.",
        "{amount} 待您的新结算账户（{account}）通过银行验证后出款。"),
       ("Nothing to do unless the verification fails; you will be notified.", "无需操作；如验证失败将通知您。")),
    _c("payout_in_transit", ("Payout in transit", "出款处理中"),
       ("{amount} was sent to {account} at {submitted}; the bank has not confirmed it yet.",
        "{amount} 已于 {submitted} 发往 {account}，银行尚未确认。"),
       ("Banks usually credit the same day; check your account later today.", "银行通常当日入账，请稍后查看账户。")),
    _c("payout_returned", ("Payout returned by the bank", "出款被银行退回"),
       ("The bank returned {amount} sent to {account}: {reason}. The money is back with us and shown as "
        "owed to you.", "银行退回了发往 {account} 的 {amount}：{reason}。款项已退回，显示为待付给您。"),
       ("{fix}. It is paid again automatically once the new account is verified.",
        "{fix}。新账户验证通过后将自动重新出款。")),
    _c("arrived", ("Arrived", "已到账"),
       ("{amount} was paid to {account} on {paid_at}, bank reference {bank_ref}.",
        "{amount} 已于 {paid_at} 付至 {account}，银行流水号 {bank_ref}。"),
       ("If you cannot see it, give your bank the reference {bank_ref}.", "如未看到，请向银行提供流水号 {bank_ref} 查询。")),
]}


def catalogue() -> dict[str, Cause]:
    """The causes above and every registered source's note causes."""
    out = dict(CAUSES)
    for source in all_sources():
        out.update({w.code: Cause(w.code, w.title, w.explain, w.next_step) for w in source.wordings})
    return out


def cause(code: str) -> Cause:
    found = CAUSES.get(code) or catalogue().get(code)
    if found is None:
        raise KeyError(f"no cause {code!r} in the catalogue")
    return found
