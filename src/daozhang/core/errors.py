"""Errors users see: a stable code, the field at fault, and a message in zh-CN and English.

Services raise `DomainError`; the API turns it into JSON, the CLI prints it, the portal
shows it beside the field. Nothing is written when one is raised inside a service
transaction, because the exception rolls the transaction back.
"""

from __future__ import annotations

from typing import Any

# code -> (English, 简体中文). Placeholders are filled from DomainError.params.
CATALOGUE: dict[str, tuple[str, str]] = {
    "required": ("This field is required.", "此项为必填项。"),
    "invalid": ("The value is not valid.", "取值无效。"),
    "invalid_json": ("The request body is not valid JSON.", "请求内容不是有效的 JSON。"),
    "not_integer_fen": (
        "Amounts are integers in fen (1 CNY = 100 fen); decimals and floats are refused.",
        "金额须为以分为单位的整数（1 元 = 100 分），不接受小数。",
    ),
    "not_positive": ("The amount must be greater than zero.", "金额必须大于零。"),
    "zero_adjustment": (
        "An adjustment of zero changes nothing: give a positive amount to credit or a negative one to deduct.",
        "调账金额不能为零：正数为调增，负数为调减。",
    ),
    "too_large": (
        "The amount is larger than the maximum of 999,999,999,999 fen.",
        "金额超过上限 999,999,999,999 分。",
    ),
    "not_a_decimal_string": (
        "Write the amount as a decimal string such as \"12.34\".",
        "金额须写成如 \"12.34\" 的十进制字符串。",
    ),
    "rate_not_exact": ("The rate must have at most four decimal places.", "费率最多四位小数。"),
    "amount_range": ("The minimum amount is larger than the maximum.", "最小金额大于最大金额。"),
    "date_range": ("The start date is after the end date.", "开始日期晚于结束日期。"),
    "bad_uscc": (
        "The unified social credit code (USCC) is not valid: {detail}.",
        "统一社会信用代码无效：{detail}。",
    ),
    "bad_phone": ("The phone number is not a valid mainland China number.", "手机号码不是有效的中国大陆号码。"),
    "bad_mcc": ("The merchant category code is not in the reference list.", "商户类别码（MCC）不在参考列表中。"),
    "bad_bank_account": ("The bank account number is not valid: {detail}.", "银行账号无效：{detail}。"),
    "bad_card_number": ("The card number is not valid.", "卡号无效。"),
    "full_pan": (
        "{field} holds a full card number (PAN), which is never accepted here; nothing was saved. "
        "Give only the masked number (first six and last four digits).",
        "{field} 含有完整银行卡号，此处不予接受，未做任何保存。请只提供掩码卡号（前六位和后四位）。",
    ),
    # Settlement-account changes (settlement.accounts) and four-eyes approval (approvals).
    "account_change_needs_owner": (
        "An API key cannot change where the merchant is paid: an API key is a till's credential. The merchant's "
        "owner changes the settlement account signed in to the portal (Me → Settlement account), confirmed by a "
        "code sent to the registered phone or e-mail.",
        "API 密钥不能变更结算账户：API 密钥是收银终端的凭据。请由商户负责人登录商户门户（我的 → 结算账户）办理，"
        "并以发送到预留手机或邮箱的验证码确认。",
    ),
    "owner_only": (
        "Only the merchant's owner, signed in, may change the settlement account.",
        "只有已登录的商户负责人可以变更结算账户。",
    ),
    "holder_not_legal_name": (
        "For a company (corporate account) the account holder must be the merchant's legal name, {legal_name}.",
        "对公账户的户名须与商户营业执照名称一致：{legal_name}。",
    ),
    "too_many_account_changes": (
        "Too many settlement-account changes were requested today ({limit} a day); try again tomorrow or "
        "call us.",
        "今日结算账户变更申请次数已达上限（每日 {limit} 次），请明日再试或联系客服。",
    ),
    "code_not_sent": (
        "The confirmation code could not be sent to {recipient}; nothing was changed. Try again later.",
        "验证码未能发送到 {recipient}，未做任何变更，请稍后再试。",
    ),
    "no_code_pending": (
        "No settlement-account change is waiting for a code: request the change again.",
        "没有待输入验证码的结算账户变更，请重新提交变更。",
    ),
    "code_wrong": (
        "The code is not right; {left} attempt(s) left.",
        "验证码不正确，还可尝试 {left} 次。",
    ),
    "code_expired": (
        "The code has expired; the change was cancelled. Request it again for a new code.",
        "验证码已过期，本次变更已取消。请重新提交变更以获取新验证码。",
    ),
    "code_attempts_exceeded": (
        "Too many wrong codes; the change was cancelled. Request it again for a new code.",
        "验证码错误次数过多，本次变更已取消。请重新提交变更以获取新验证码。",
    ),
    "maker_cannot_approve": (
        "You asked for this yourself: a second person must approve or reject it.",
        "此申请由您本人提交，须由另一人复核批准或驳回。",
    ),
    "approval_decided": ("This request was already decided: {status}.", "此申请已处理：{status}。"),
    "approval_expired": (
        "This request was not reviewed in time and has expired; nothing was done.",
        "此申请未在时限内复核，已过期，未执行任何操作。",
    ),
    "approval_kind_unknown": ("No handler is registered for requests of kind {kind}.", "{kind} 类申请未注册处理程序。"),
    "bad_last4": ("Give exactly the last four digits of the card.", "请填写卡号后四位数字。"),
    "weak_password": ("The password is too weak: {detail}", "密码强度不足：{detail}"),
    "calendar_gap": (
        "No working-day calendar covers {year}: load the official {year} schedule (daozhang calendar load FILE).",
        "尚无 {year} 年的工作日历：请导入 {year} 年官方放假安排（daozhang calendar load FILE）。",
    ),
    "settlement_not_due": (
        "The books for {date} ({cycle}) close at {at}; settle after that.",
        "{date}（{cycle}）的账务于 {at} 截止，请在此之后结算。",
    ),
    "hold_exceeds_unsettled": (
        "The amount is more than the merchant's unsettled funds.",
        "冻结金额超过商户未结算资金。",
    ),
    "no_cjk_font": (
        "No Chinese font is installed for PDF statements (apt-get install fonts-wqy-microhei).",
        "未安装用于 PDF 结算单的中文字体（apt-get install fonts-wqy-microhei）。",
    ),
    "calendar_file": ("Calendar file, line {line}: {detail}.", "日历文件第 {line} 行：{detail}。"),
    "calendar_incomplete": ("Calendar file: {detail}; check the file, or load it with --force if it is "
                            "right.", "日历文件：{detail}；请核对文件，确认无误可加 --force 载入。"),
    "duplicate": ("A record with this value already exists.", "该值已存在。"),
    "unknown_terminal": ("No terminal with this terminal id belongs to you.", "您名下没有此终端号。"),
    "terminal_not_active": ("The terminal is {status}, not active.", "终端状态为 {status}，不可交易。"),
    "terminal_bound": ("The terminal is already bound to a merchant.", "终端已绑定商户。"),
    "bad_transition": ("Cannot go from {current} to {target}.", "无法从 {current} 变为 {target}。"),
    "merchant_not_active": ("The merchant is {status}, not active.", "商户状态为 {status}，不可交易。"),
    "unknown_merchant": ("No such merchant.", "商户不存在。"),
    "not_found": ("Not found.", "未找到。"),
    "channel_mismatch": (
        "The card fields are only for card payments, the wallet fields only for QR.",
        "卡片字段仅用于银行卡交易，钱包字段仅用于扫码交易。",
    ),
    "void_not_allowed": (
        "A void must be the same day, on the same terminal, of an approved sale: {detail}.",
        "撤销须为当日、同一终端、已批准的消费：{detail}。",
    ),
    "channel_unavailable": (
        "The payment channel is unavailable; nothing was charged. Try again later.",
        "支付通道暂不可用，未扣款，请稍后再试。",
    ),
    "idempotency_key_missing": (
        "Send an Idempotency-Key header with every change.",
        "每个修改请求都须带 Idempotency-Key 请求头。",
    ),
    "idempotency_key_reused": (
        "This Idempotency-Key was already used with a different request.",
        "该 Idempotency-Key 已用于另一个不同的请求。",
    ),
    "unknown_parameter": (
        "This endpoint takes no query parameter of this name: check its spelling (docs: /api/docs).",
        "此接口没有该查询参数，请检查拼写（文档：/api/docs）。",
    ),
    "request_in_progress": (
        "A request with this key is still being processed; nothing else was done. Retry shortly to get its answer.",
        "使用该键的请求仍在处理中，本次未做任何操作。请稍后重试以获取其结果。",
    ),
    "unauthenticated": ("Authentication is required.", "需要身份认证。"),
    "forbidden": ("You are not allowed to do this.", "您无权执行此操作。"),
    "credential_revoked": (
        "This key or token was revoked at {at}; ask its owner for a new one.",
        "该密钥或令牌已于 {at} 吊销，请向其所有者申请新的。",
    ),
    "credential_expired": (
        "This key or token expired at {at}; ask its owner for a new one.",
        "该密钥或令牌已于 {at} 过期，请向其所有者申请新的。",
    ),
    "too_many_attempts": (
        "Too many failed attempts; try again in {seconds} s.",
        "失败次数过多，请 {seconds} 秒后再试。",
    ),
    "internal": (
        "Something went wrong on our side; nothing was changed. Reference: {ref}.",
        "系统内部错误，未做任何变更。参考号：{ref}。",
    ),
    "bad_date": ("Write the date as YYYY-MM-DD, such as 2026-05-01.", "日期须写成 YYYY-MM-DD 格式，如 2026-05-01。"),
    "date_out_of_range": (
        "The date must be between {first} and {last}.",
        "日期须在 {first} 至 {last} 之间。",
    ),
    "bad_text": (
        "The text contains characters that are not allowed (control, bidi-override or invisible characters).",
        "文本含有不允许的字符（控制字符、双向文本控制符或不可见字符）。",
    ),
    "too_long": ("The value is longer than the maximum of {max} characters.", "长度超过上限 {max} 个字符。"),
    "out_of_range": ("The number is out of the range this field can hold.", "数值超出该字段允许的范围。"),
    "not_an_object": ("The request body must be a JSON object ({{…}}).", "请求内容须为 JSON 对象（{{…}}）。"),
    "unsupported_media_type": (
        "Send the request body as JSON, with Content-Type: application/json.",
        "请求内容须为 JSON，并带 Content-Type: application/json。",
    ),
    "payload_too_large": (
        "The request body is larger than the limit of {limit} bytes.",
        "请求内容超过 {limit} 字节的上限。",
    ),
    "method_not_allowed": (
        "This method is not allowed here; allowed: {allowed}.",
        "此地址不支持该请求方法；支持：{allowed}。",
    ),
    "ledger_unbalanced": ("The ledger entry does not balance.", "会计分录借贷不平衡。"),
    "payout_accepted": (
        "The bank has already accepted this payout ({state}); it cannot be cancelled. If it is returned, the batch "
        "comes back to the payout queue.",
        "银行已受理该笔出款（{state}），无法撤销；如被银行退回，批次将回到出款队列。",
    ),
    "payout_being_sent": (
        "This payout is being sent to the bank right now; try again in a minute, when the bank has answered.",
        "该笔出款正在发送至银行，请在银行应答后（约一分钟）再试。",
    ),
    "payout_bank_unreachable": (
        "The bank cannot be asked whether it already received this payout, so it cannot be cancelled yet. It will "
        "not be sent while the batch is held: hold the batch, and cancel once the bank is back.",
        "暂时无法向银行确认是否已收到该笔出款，因此暂不能撤销。批次暂缓期间不会发出：请先暂缓出款，银行恢复后再撤销。",
    ),
}


class DomainError(Exception):
    def __init__(self, code: str, field: str | None = None, params: dict[str, Any] | None = None,
                 status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.field = field
        self.params = params or {}
        self.status = status

    def message(self, lang: str) -> str:
        en, zh = CATALOGUE.get(self.code, CATALOGUE["invalid"])
        i = 1 if lang.startswith("zh") else 0
        template = (en, zh)[i]
        # A parameter given as an (English, 中文) pair takes the message's language.
        params = {k: (v[i] if isinstance(v, tuple) else v) for k, v in self.params.items()}
        try:
            return template.format(**params)
        except (KeyError, IndexError):
            return template

    def as_dict(self, lang: str) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "message": self.message(lang)}


class NotFound(DomainError):
    def __init__(self, field: str | None = None) -> None:
        super().__init__("not_found", field, {}, 404)


def pick_language(accept_language: str | None) -> str:
    """'en' or 'zh-hans' from an Accept-Language header; zh-CN is the default."""
    if not accept_language:
        return "zh-hans"
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh-hans"
    return "zh-hans"
