"""Background jobs of access's own tables."""

from __future__ import annotations

from django_tasks import task

from daozhang.access import throttle
from daozhang.core.scheduler import periodic


@task()
def purge_login_throttle() -> int:
    """Delete failure counters past their window whose wait is over (a credential-stuffing
    flood leaves one row per username tried)."""
    return throttle.purge()


@periodic("access.purge_login_throttle", every_seconds=3600)
def _enqueue_purge() -> object:
    return purge_login_throttle.enqueue()
