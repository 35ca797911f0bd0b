"""Background jobs for settlement."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from daozhang.channels.bank import BankUnavailable
from daozhang.core import clock
from daozhang.core.alerts import raise_alert, resolve_alert
from daozhang.core.scheduler import periodic
from daozhang.dates.calendar import CalendarGap, covered
from daozhang.dates.cycles import settlement_date_for
from daozhang.merchants.models import AccountStage
from daozhang.settlement.accounts import expire_unconfirmed, pending_accounts, verify_account_change
from daozhang.settlement.models import SettledDay
from daozhang.settlement.payouts import pay_due_batches
from daozhang.settlement.runs import run_settlement

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


# How far back the scheduled run catches up after the worker was down; older gaps need a
# person (`daozhang settle --date D`), and an alert says so.
CATCH_UP_DAYS = 14


@task()
def settle_closed_days() -> dict[str, str]:
    """Settle every closed day not settled yet, oldest first, for each cycle (idempotent).

    Not only the latest closed day: a worker that was down over a day's end must still
    settle that day when it comes back, or its merchants would never be paid.
    """
    done: dict[str, str] = {}
    for cycle in ("T1", "D0"):
        latest = settlement_date_for(clock.now(), cycle) - dt.timedelta(days=1)
        last_done = SettledDay.objects.filter(cycle=cycle).order_by("-day").values_list("day", flat=True).first()
        first = latest if last_done is None else last_done + dt.timedelta(days=1)
        if first < latest - dt.timedelta(days=CATCH_UP_DAYS):
            raise_alert("settlement_behind", cycle,
                        en=f"{cycle} settlement is behind since {first}: settle the days before "
                           f"{latest - dt.timedelta(days=CATCH_UP_DAYS)} with daozhang settle --date D.",
                        zh=f"{cycle} 结算自 {first} 起未完成：请用 daozhang settle --date D 结算 "
                           f"{latest - dt.timedelta(days=CATCH_UP_DAYS)} 之前的日期。")
            first = latest - dt.timedelta(days=CATCH_UP_DAYS)
        day, results = first, []
        while day <= latest:
            try:
                r = run_settlement(day, cycles=(cycle,))
            except CalendarGap as gap:
                results.append(f"{day}: stopped, no calendar for {gap.year}")
                break  # later days wait: settlement goes in date order
            SettledDay.objects.get_or_create(cycle=cycle, day=day, defaults={"finished_at": clock.now()})
            results.append(f"{day}: {r.batches} batches")
            day += dt.timedelta(days=1)
        done[cycle] = "; ".join(results) or "up to date"
    return done


@task()
def verify_pending_accounts() -> int:
    """Ask the bank to check every account change ready for it (the owner's code confirmed,
    a second staff member's approval when it needed one); stop at the first outage."""
    n = 0
    for account_id in pending_accounts().filter(stage=AccountStage.VERIFYING).values_list("id", flat=True):
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


@task()
def expire_account_codes() -> int:
    """Cancel account changes whose code was not confirmed in time (payouts wait while one is open)."""
    return expire_unconfirmed()


@periodic("settlement.expire_account_codes", every_seconds=60)
def _enqueue_expire_codes() -> object:
    return expire_account_codes.enqueue()
