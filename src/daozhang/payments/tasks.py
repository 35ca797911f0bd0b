"""Background jobs for payments."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.conf import settings
from django_tasks import task

from daozhang.core.scheduler import periodic
from daozhang.payments import services

log = logging.getLogger(__name__)


@task()
def resolve_unknown_payments() -> dict[str, int]:
    """Reverse or confirm payments left unknown longer than the reversal window."""
    window = dt.timedelta(seconds=settings.UNKNOWN_PAYMENT_REVERSAL_SECONDS)
    counts: dict[str, int] = {}
    for pid in services.stale_unknown_payments(window):
        try:
            outcome = services.resolve_unknown(uuid.UUID(str(pid)))
        except Exception:  # one bad payment must not stop the sweep; it is retried next time
            log.exception("could not resolve unknown payment %s", pid)
            outcome = "error"
        counts[outcome] = counts.get(outcome, 0) + 1
    if counts:
        log.info("resolved unknown payments: %s", counts)
    return counts


@periodic("payments.resolve_unknown", every_seconds=60)
def _enqueue_resolve() -> object:
    return resolve_unknown_payments.enqueue()
