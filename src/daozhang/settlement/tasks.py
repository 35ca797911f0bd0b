"""Background jobs for settlement."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from daozhang.core import clock
from daozhang.core.alerts import raise_alert, resolve_alert
from daozhang.core.scheduler import periodic
from daozhang.settlement.calendar import covered

CALENDAR_LOOKAHEAD_DAYS = 60


@task()
def check_calendar_coverage() -> list[int]:
    """Alert staff well before settlement reaches a year no calendar covers."""
    today = clock.business_date()
    missing = []
    for year in sorted({today.year, (today + dt.timedelta(days=CALENDAR_LOOKAHEAD_DAYS)).year}):
        if covered(year):
            resolve_alert("calendar_gap", str(year))
        else:
            missing.append(year)
            raise_alert("calendar_gap", str(year),
                        en=f"No working-day calendar for {year}: load the official schedule "
                           f"(daozhang calendar load FILE) before settlement reaches it.",
                        zh=f"缺少 {year} 年工作日历：请在结算到达该年前导入官方放假安排"
                           f"（daozhang calendar load FILE）。")
    return missing


@periodic("settlement.check_calendar", every_seconds=3600)
def _enqueue_calendar_check() -> object:
    return check_calendar_coverage.enqueue()


@task()
def settle_closed_days() -> dict[str, str]:
    """Settle the latest day whose books have closed, for each cycle (idempotent)."""
    from daozhang.settlement.calendar import CalendarGap
    from daozhang.settlement.cycles import settlement_date_for
    from daozhang.settlement.runs import run_settlement

    done: dict[str, str] = {}
    for cycle in ("T1", "D0"):
        day = settlement_date_for(clock.now(), cycle) - dt.timedelta(days=1)
        try:
            r = run_settlement(day, cycles=(cycle,))
            done[cycle] = f"{day}: {r.batches} batches"
        except CalendarGap as gap:
            done[cycle] = f"{day}: stopped, no calendar for {gap.year}"
    return done


@task()
def pay_due_batches() -> dict[str, int]:
    from daozhang.settlement.payouts import run_payouts

    r = run_payouts()
    return {"submitted": r.submitted, "paid": r.paid, "returned": r.returned, "retrying": r.retrying}


@task()
def verify_pending_accounts() -> int:
    from daozhang.channels.bank import BankUnavailable
    from daozhang.merchants.models import SettlementAccount
    from daozhang.merchants.services import verify_account_change

    n = 0
    for account_id in SettlementAccount.objects.filter(is_current=False, verified_at__isnull=True,
                                                       rejected_at__isnull=True).values_list("id", flat=True):
        try:
            verify_account_change(account_id=account_id)
            n += 1
        except BankUnavailable:
            break
    return n


@periodic("settlement.settle", every_seconds=600)
def _enqueue_settle() -> object:
    return settle_closed_days.enqueue()


@periodic("settlement.payouts", every_seconds=300)
def _enqueue_payouts() -> object:
    return pay_due_batches.enqueue()


@periodic("settlement.verify_accounts", every_seconds=60)
def _enqueue_verify() -> object:
    return verify_pending_accounts.enqueue()
