"""The portal's Me → Account management (我的 → 账户管理) menu, as the seed articles
describe the acquirer apps merchants already know.

Later capabilities (refund application 退款申请, terminal deposit refund 押金退还) add their
entries here with `register`; the menu page shows what is registered, in order, and
nothing that does not exist yet.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MenuItem:
    key: str
    url_name: str
    zh: str
    en: str
    hint_zh: str = ""
    hint_en: str = ""


ACCOUNT_MANAGEMENT: list[MenuItem] = []


def register(item: MenuItem) -> None:
    if all(existing.key != item.key for existing in ACCOUNT_MANAGEMENT):
        ACCOUNT_MANAGEMENT.append(item)


register(MenuItem("profile", "portal:profile", "商户资料", "Merchant profile",
                  "名称、证照、联系人、费率与结算周期", "Name, licence, contact, fee plan, settlement cycle"))
register(MenuItem("settlement_account", "portal:settlement_account", "结算账户", "Settlement bank account",
                  "查看与变更收款银行账户", "See and change the account you are paid to"))
register(MenuItem("api_keys", "portal:api_keys", "API 密钥", "API keys",
                  "为收银系统创建或吊销密钥", "Create or revoke keys for your till system"))
register(MenuItem("password", "portal:password", "修改密码", "Change password"))
register(MenuItem("two_factor", "web:two_factor", "两步验证", "Two-factor sign-in",
                  "身份验证器应用与备用码", "Authenticator app and backup codes"))
