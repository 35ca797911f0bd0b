"""Background jobs of core's own tables."""

from __future__ import annotations

import logging

from django.conf import settings
from django_tasks import task

from daozhang.core.events import deliver_outbox
from daozhang.core.once import purge_expired
from daozhang.core.scheduler import periodic

log = logging.getLogger(__name__)


@task()
def purge_idempotency_records() -> int:
    """Delete stored answers past their expiry (`IDEMPOTENCY_TTL_HOURS`)."""
    n = purge_expired()
    if n:
        log.info("purged %d expired idempotency records", n)
    return n


@periodic("core.purge_idempotency_records", every_seconds=3600)
def _enqueue_purge() -> object:
    return purge_idempotency_records.enqueue()


# The sweep: retries whose back-off has passed, and events whose kick was lost.
@periodic("core.deliver_outbox", every_seconds=settings.OUTBOX_SWEEP_SECONDS)
def _enqueue_outbox() -> object:
    return deliver_outbox.enqueue()
