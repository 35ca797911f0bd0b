"""Demo data: merchants, terminals, staff and four weeks of payments through every path.

Idempotent: every record has a fixed natural key (USCC, serial number, idempotency key),
so running it again adds nothing. Approved history goes through the bulk import path;
today's declines, timeouts, voids and reversals go through the same services the API
calls, so the demo shows every state a merchant can meet.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from stdnum import luhn
from stdnum.cn import uscc as stdnum_uscc

from daozhang.access.models import ApiKey, StaffToken
from daozhang.access.services import hash_key
from daozhang.channels.sandbox import card_type_of_bin
from daozhang.core import clock
from daozhang.core.errors import DomainError
from daozhang.merchants import services as merchants
from daozhang.merchants.models import Merchant
from daozhang.payments import services as payments
from daozhang.payments.bulk import ImportedSale, import_sales
from daozhang.payments.cards import card_ref
from daozhang.terminals import services as terminals
from daozhang.terminals.models import Terminal, TerminalStatus


@dataclass(frozen=True)
class DemoMerchant:
    short: str
    legal: str
    mcc: str
    region: str
    phone: str
    holder: str
    account: str
    account_type: str
    bank: str
    daily_sales: int


DEMO_MERCHANTS = [
    DemoMerchant("老王面馆", "上海老王餐饮管理有限公司", "5812", "2900", "13812345678",
                 "上海老王餐饮管理有限公司", "31001234567890123", "corporate", "中国建设银行上海分行", 60),
    DemoMerchant("便利蜂五角场店", "上海便利蜂商贸有限公司", "5499", "2900", "13912345671",
                 "上海便利蜂商贸有限公司", "121900112233445566", "corporate", "招商银行上海分行", 90),
    DemoMerchant("花语花店", "北京花语花艺工作室", "5992", "1000", "13698765432",
                 "李花语", "6222021234567890128", "personal", "中国工商银行北京分行", 20),
    DemoMerchant("快乐宠物", "广州快乐宠物用品有限公司", "5995", "5810", "13512345679",
                 "广州快乐宠物用品有限公司", "44050123456789012", "corporate", "中国银行广州分行", 30),
    DemoMerchant("悦读书店", "杭州悦读文化传播有限公司", "5942", "3310", "13787654321",
                 "杭州悦读文化传播有限公司", "33050198765432101", "corporate", "浙商银行杭州分行", 25),
    DemoMerchant("康健大药房", "深圳康健医药连锁有限公司", "5912", "5840", "18612345678",
                 "深圳康健医药连锁有限公司", "755912345678901", "corporate", "平安银行深圳分行", 45),
]

# Test cards (Luhn-valid): debit 6222…, credit 6258…, both the sandbox's BIN rules.
_CARD_BODIES = ["622202123456789", "622848765432109", "625807123456789", "628888765432101",
                "622700111122223", "625998877665544"]
TEST_CARDS = [b + str(luhn.calc_check_digit(b)) for b in _CARD_BODIES]
DEMO_PASSWORD = "daozhang-demo-2026"


def _uscc(n: int) -> str:
    base = f"91310000{700000000 + n:09d}"
    return base + stdnum_uscc.calc_check_digit(base)


def demo_secret(label: str) -> str:
    """A demo credential that is stable for this installation (derived from SECRET_KEY)."""
    return hmac.new(settings.SECRET_KEY.encode(), label.encode(), hashlib.sha256).hexdigest()[:32]


def load(days: int = 28, say: Callable[[str], None] = print) -> dict[str, str]:
    """Load the demo; returns the credentials a newcomer needs. Development mode only: its
    logins and keys are printed and derived from public values (`daozhang demo` is refused
    in production by a system check; this refuses any other caller)."""
    from daozhang.core.mode import is_production

    if is_production():
        raise RuntimeError("the demo is refused in production (DAOZHANG_MODE=development for a demo)")
    rng = random.Random(20261122)  # noqa: S311 - demo data, reproducible
    creds = _staff()
    rows: list[tuple[Merchant, list[Terminal], DemoMerchant]] = []
    for i, dm in enumerate(DEMO_MERCHANTS):
        m = _merchant(i, dm)
        ts = _terminals(i, m)
        creds[f"api key {dm.short} ({m.merchant_no})"] = _api_key(m)
        creds[f"merchant login {dm.short}"] = f"{_merchant_login(i, m)} / {DEMO_PASSWORD}"
        rows.append((m, ts, dm))
    say(f"demo: {len(rows)} merchants, {sum(len(t) for _, t, _ in rows)} terminals")
    history = list(_history(rows, days, rng))
    new = import_sales(history, batch_size=1000)
    say(f"demo: {new} historical approved payments imported ({len(history) - new} already there)")
    _today(rows, rng)
    say("demo: today's payments with declines, timeouts, voids and reversals recorded")
    _settle_history(rows, days, say)
    return creds


def _settle_history(rows: list[tuple[Merchant, list[Terminal], DemoMerchant]], days: int,
                    say: Callable[[str], None]) -> None:
    """Settle and pay the past days, so batches, payouts and their troubles are there to see.

    花语花店's bank knows its account under another holder name, so its payouts come back
    (R01) until the merchant corrects the name; 便利蜂 has funds frozen by a risk review.
    """
    from daozhang.channels.models import SandboxBankAccount
    from daozhang.dates.calendar import CalendarGap
    from daozhang.risk.models import RiskHold
    from daozhang.risk.services import hold_funds
    from daozhang.settlement.payouts import run_payouts
    from daozhang.settlement.runs import run_settlement

    flower = rows[2][0]
    account = flower.settlement_accounts.get(is_current=True)
    SandboxBankAccount.register(account_number=account.account_number, holder_name="李花予")
    shop = rows[1][0]
    if not RiskHold.objects.filter(merchant=shop, case_ref="RK-DEMO-1").exists():
        with contextlib.suppress(DomainError):  # not enough unsettled money yet on this run
            hold_funds(merchant_id=shop.id, amount=50000, case_ref="RK-DEMO-1",
                       reason="单笔大额交易核实 large single sale under review", actor="staff:risk-demo")
    today = clock.business_date()
    batches = 0
    try:
        for back in range(days, 0, -1):
            batches += run_settlement(today - dt.timedelta(days=back)).batches
    except CalendarGap as gap:
        say(f"demo: settlement stopped at {gap.year}: load its calendar (daozhang calendar load FILE)")
    result = run_payouts(today)
    say(f"demo: {batches} settlement batches; payouts {result.paid} paid, {result.returned} returned by the bank")


def _staff() -> dict[str, str]:
    """The superuser `admin` with an API token, and one console login per staff role.

    Each role user is staff, in exactly its role's group and with the demo password, so a
    newcomer can see what customer service, risk, finance and device logistics each may
    do; running the demo again only puts them back that way.
    """
    user_model = get_user_model()
    admin = user_model.objects.filter(username="admin").first()
    if admin is None:
        admin = user_model.objects.create_superuser("admin", "admin@example.com", DEMO_PASSWORD)
    raw = "dzs_demo_" + demo_secret("staff-token:admin")
    # It expires like any staff token; running the demo again renews it (and un-revokes it).
    expires = timezone.now() + dt.timedelta(days=settings.STAFF_TOKEN_DAYS) if settings.STAFF_TOKEN_DAYS else None
    StaffToken.objects.update_or_create(key_hash=hash_key(raw), defaults={
        "user": admin, "name": "demo", "prefix": raw[:10], "expires_at": expires, "revoked_at": None})
    creds = {"staff login (/console/, /admin/)": f"admin / {DEMO_PASSWORD}", "staff API token": raw}
    creds.update(_role_users())
    return creds


def _role_users() -> dict[str, str]:
    """One staff user per console role (console/roles.py), named by the role's slug; the
    superuser `admin` joins 管理员 so the admin page shows who holds that role."""
    from django.contrib.auth.models import Group

    from daozhang.console.roles import ROLES, ensure_roles

    ensure_roles()  # the groups exist after migrate; this also covers a database migrated before they did
    user_model = get_user_model()
    creds = {}
    for role in ROLES:
        group = Group.objects.get(name=role.group)
        if role.slug == "admin":
            user_model.objects.get(username="admin").groups.add(group)
        else:
            user = user_model.objects.filter(username=role.slug).first()
            if user is None:
                user = user_model.objects.create_user(role.slug, f"{role.slug}@example.com", DEMO_PASSWORD)
            user.is_staff, user.is_active = True, True
            user.save(update_fields=["is_staff", "is_active"])
            user.groups.set([group])
        creds[f"console login {role.group} {role.en.lower()}"] = f"{role.slug} / {DEMO_PASSWORD}"
    return creds


def _merchant(i: int, dm: DemoMerchant) -> Merchant:
    code = _uscc(i)
    existing = Merchant.objects.filter(uscc=code).first()
    if existing:
        return existing
    return merchants.onboard_merchant(
        data=merchants.OnboardingInput(
            legal_name=dm.legal, short_name=dm.short, uscc=code, mcc=dm.mcc, region_code=dm.region,
            contact_name=dm.holder[:4], contact_phone=dm.phone,
            settlement_cycle="D0" if i == 1 else "T1",
            bank_account=merchants.BankAccountInput(
                holder_name=dm.holder, account_number=dm.account, bank_name=dm.bank,
                account_type=dm.account_type),
        ),
        actor="system:demo",
    )


def _terminals(i: int, m: Merchant) -> list[Terminal]:
    out = []
    for j in range(2 if i % 2 else 3):
        sn = f"LKL-DEMO-{i:02d}{j:02d}"
        t = Terminal.objects.filter(serial_number=sn).first()
        if t is None:
            t = terminals.register_terminal(serial_number=sn, terminal_id=f"DZ{i:02d}{j:04d}",
                                            model="A8 智能POS", actor="system:demo")
        if t.status == TerminalStatus.IN_STOCK:
            t = terminals.bind_terminal(terminal_id=t.id, merchant_id=m.id,
                                        install_address=m.address or m.legal_name, actor="system:demo")
        if t.status == TerminalStatus.BOUND:
            t = terminals.set_terminal_status(terminal_id=t.id, status=TerminalStatus.ACTIVE,
                                              actor="system:demo", reason="demo")
        out.append(t)
    return out


def _merchant_login(i: int, m: Merchant) -> str:
    username = f"merchant{i + 1}"
    if not get_user_model().objects.filter(username=username).exists():
        merchants.create_merchant_user(merchant_id=m.id, username=username, password=DEMO_PASSWORD,
                                       role="owner", actor="system:demo")
    return username


def _api_key(m: Merchant) -> str:
    raw = "dzk_demo_" + demo_secret(f"api-key:{m.merchant_no}")
    if not ApiKey.objects.filter(key_hash=hash_key(raw)).exists():
        with transaction.atomic():
            ApiKey.objects.create(merchant=m, name="demo", prefix=raw[:10], key_hash=hash_key(raw))
    return raw


def _amount(rng: random.Random) -> int:
    """A shop-like amount that never ends in a sandbox trigger (05, 51, 55, 96–98)."""
    fen = rng.choice([rng.randint(5, 80) * 100, rng.randint(100, 30000), rng.randint(300, 2500) * 100])
    while fen % 100 in (5, 51, 55, 96, 97, 98):
        fen += 1
    return fen


_MODES = [("card", "chip"), ("card", "swipe"), ("card", "contactless"), ("wechat", "qr"), ("alipay", "qr")]


def _history(rows: list[tuple[Merchant, list[Terminal], DemoMerchant]], days: int,
             rng: random.Random) -> Iterator[ImportedSale]:
    tz = clock.business_tz()
    today = clock.business_date()
    for mi, (m, ts, dm) in enumerate(rows):
        for back in range(days, 0, -1):
            day = today - dt.timedelta(days=back)
            for n in range(max(1, int(dm.daily_sales * rng.uniform(0.6, 1.3)))):
                channel, mode = rng.choice(_MODES)
                t = rng.choice(ts)
                at = dt.datetime.combine(day, dt.time(rng.randint(8, 21), rng.randint(0, 59),
                                                      rng.randint(0, 59)), tzinfo=tz)
                card = card_ref(rng.choice(TEST_CARDS)) if channel == "card" else None
                card_type = card_type_of_bin(card.masked[:6]) if card else ""
                seq = f"{back:03d}{n:04d}"
                yield ImportedSale(
                    merchant_id=m.id, terminal_pk=t.id, idempotency_key=f"demo:{m.merchant_no}:{day}:{n}",
                    channel=channel, entry_mode=mode, card_type=card_type, amount=_amount(rng),
                    stan=seq[-6:], created_at=at, rrn=f"{day:%m%d}{mi % 10}{seq}",
                    auth_code=f"{rng.randint(0, 999999):06d}",
                    masked_pan=card.masked if card else "", last4=card.last4 if card else "",
                    pan_token=card.token if card else "",
                )


def _today(rows: list[tuple[Merchant, list[Terminal], DemoMerchant]], rng: random.Random) -> None:
    """Today's payments through the online services: every outcome the sandbox has."""
    day = clock.business_date()
    for m, ts, _ in rows:
        t = ts[0]
        specs = [
            ("card", "contactless", 3800, TEST_CARDS[0]), ("card", "chip", 128800, TEST_CARDS[2]),
            ("wechat", "qr", 2650, None), ("alipay", "qr", 9900, None),
            ("card", "swipe", 20051, TEST_CARDS[1]),  # 51 insufficient funds
            ("card", "chip", 5055, TEST_CARDS[3]),  # 55 wrong PIN
            ("card", "chip", 7005, TEST_CARDS[4]),  # 05 do not honour
            ("card", "chip", 4096, TEST_CARDS[5]),  # 96 system error
            ("card", "chip", 6698, TEST_CARDS[0]),  # timeout after debit: unknown
            ("wechat", "qr", 1898, None),  # wallet timeout: unknown until queried
            ("card", "contactless", 1500, TEST_CARDS[1]),  # voided below
            ("card", "chip", 2300, TEST_CARDS[2]),  # reversed below
        ]
        made = []
        for n, (channel, mode, amount, pan) in enumerate(specs):
            wallet = None
            if channel == "wechat":
                wallet = f"13{rng.randint(0, 10**16 - 1):016d}"
            elif channel == "alipay":
                wallet = f"28{rng.randint(0, 10**16 - 1):016d}"
            p, _ = payments.sale(
                merchant=m, idempotency_key=f"demo-today:{m.merchant_no}:{day}:{n}",
                req=payments.SaleRequest(terminal_id=t.terminal_id, stan=f"9{n:05d}", amount=amount,
                                         channel=channel, entry_mode=mode, card_number=pan,
                                         wallet_auth_code=wallet),
            )
            made.append(p)
        try:
            payments.void(merchant=m, payment_id=made[10].id, terminal_id=t.terminal_id, actor="demo")
            payments.reverse(merchant=m, terminal_id=t.terminal_id, original_stan=made[11].stan,
                             idempotency_key=f"demo-today-rev:{m.merchant_no}:{day}")
            payments.reverse(merchant=m, terminal_id=t.terminal_id, original_stan="777777",
                             idempotency_key=f"demo-today-orphan:{m.merchant_no}:{day}", amount=1200)
        except DomainError:
            pass  # a sandbox outage switched on by the operator: the next run completes it
