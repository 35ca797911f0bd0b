"""Slowing down guessing without locking anyone out (issue 11, item 7).

The old rule (django-axes, five wrong passwords lock a username from anywhere) let any
stranger lock `admin` out. Here failures are counted on several counters at once:

- per (username, address): the one a single guesser at one place meets first;
- per address (IPv6: its /64, which one subscriber gets whole): spraying many usernames
  from one place is slowed, with a larger allowance because a shop's tills share a NAT;
- per username, from anywhere: a botnet trying one username is slowed too, **except** for
  a browser that signed in as that user before (a signed device cookie, web.views): the
  real user's correct password from their own device is never held back by strangers.

Nothing locks. Once a counter has used its free failures, each further failure makes the
next attempt it covers wait BASE × 2^(n − free) seconds, at most MAX; attempts refused
during a wait are not counted (so a flood cannot push the wait past its cap) and a
counter forgets failures older than the window. The same counters serve the API: an
address sending unknown or dead keys gets "try again in N s" for them (scope `api`), and
the one-time-code step (scope `otp`, per user).

Counters live in the database (one row each), so every process and every worker of a
deployment sees the same counts; only failures write, so a normal sign-in costs one read.
Security time is the real clock (`_now`), not the business clock tests move for settlement.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from daozhang.access.models import LoginThrottle, ThrottleScope


def _now() -> dt.datetime:
    return timezone.now()


# ----------------------------------------------------------------------------- addresses

def _trusted() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(p, strict=False) for p in settings.TRUSTED_PROXIES]


def _parse(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(raw.strip())
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str:
    """The client's address: the TCP peer, unless the peer is a trusted proxy
    (settings.TRUSTED_PROXIES); then the right-most X-Forwarded-For entry that is not a
    trusted proxy itself. Entries left of that one are whatever the client wrote and are
    never believed."""
    peer = request.META.get("REMOTE_ADDR", "") or ""
    trusted = _trusted()
    addr = _parse(peer)
    if addr is None or not trusted or not any(addr in net for net in trusted):
        return peer
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        found = _parse(hop)
        if found is None:
            return peer  # a malformed hop: do not guess past it
        if not any(found in net for net in trusted):
            return str(found)
    return peer


def address_subject(address: str) -> str:
    """What the per-address counter counts: an IPv4 address, or an IPv6 address's /64."""
    addr = _parse(address)
    if addr is None:
        return address[:45]
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


def username_subject(username: str) -> str:
    return username.strip().casefold()[:150]


# ------------------------------------------------------------------------------ counters

@dataclass(frozen=True)
class Counter:
    scope: str
    subject: str
    free: int


def login_counters(*, username: str, address: str) -> dict[str, Counter]:
    user, addr = username_subject(username), address_subject(address)
    return {
        ThrottleScope.PAIR: Counter(ThrottleScope.PAIR, f"{user}\n{addr}", settings.LOGIN_FREE_FAILURES),
        ThrottleScope.ADDRESS: Counter(ThrottleScope.ADDRESS, addr, settings.LOGIN_ADDRESS_FREE_FAILURES),
        ThrottleScope.USER: Counter(ThrottleScope.USER, user, settings.LOGIN_FREE_FAILURES),
    }


def api_counter(address: str) -> Counter:
    return Counter(ThrottleScope.API, address_subject(address), settings.API_AUTH_FREE_FAILURES)


def delay_after(failures: int, free: int) -> int:
    """Seconds the next attempt waits after `failures` failures (0 while some are free)."""
    if failures < free:
        return 0
    return int(min(settings.LOGIN_DELAY_BASE_SECONDS * 2 ** min(failures - free, 30),
                   settings.LOGIN_DELAY_MAX_SECONDS))


def wait_seconds(counters: list[Counter]) -> int:
    """How long the caller must still wait (0: go ahead): the longest wait of the counters."""
    if not counters:
        return 0
    now = _now()
    q = Q()
    for c in counters:
        q |= Q(scope=c.scope, subject=c.subject)
    until = [b for b in LoginThrottle.objects.filter(q, blocked_until__gt=now).values_list(
        "blocked_until", flat=True) if b is not None]
    if not until:
        return 0
    return max(1, int((max(until) - now).total_seconds() + 0.999))


def record_failure(counters: list[Counter]) -> int:
    """Count one failure on each counter; returns the longest wait it started (seconds)."""
    now = _now()
    window = dt.timedelta(seconds=settings.LOGIN_WINDOW_SECONDS)
    longest = 0
    for c in counters:
        for _ in range(3):  # a concurrent first failure may create the row first
            try:
                with transaction.atomic():
                    row = LoginThrottle.objects.select_for_update().filter(scope=c.scope, subject=c.subject).first()
                    if row is None:
                        row = LoginThrottle(scope=c.scope, subject=c.subject, failures=0, last_failure_at=now)
                    elif row.last_failure_at < now - window:
                        row.failures = 0
                    row.failures += 1
                    row.last_failure_at = now
                    delay = delay_after(row.failures, c.free)
                    row.blocked_until = now + dt.timedelta(seconds=delay) if delay else None
                    row.save()
                    longest = max(longest, delay)
                break
            except IntegrityError:
                continue
    return longest


def clear(counters: list[Counter]) -> None:
    """Forget the failures of these counters (a success resets its own pair counter,
    never the per-username or per-address ones a stranger may be filling)."""
    if not counters:
        return
    q = Q()
    for c in counters:
        q |= Q(scope=c.scope, subject=c.subject)
    LoginThrottle.objects.filter(q).delete()


def purge() -> int:
    """Delete counters whose failures are past the window and whose wait is over."""
    cut = _now() - dt.timedelta(seconds=settings.LOGIN_WINDOW_SECONDS)
    deleted, _ = LoginThrottle.objects.filter(last_failure_at__lt=cut).filter(
        Q(blocked_until__isnull=True) | Q(blocked_until__lt=_now())).delete()
    return deleted
