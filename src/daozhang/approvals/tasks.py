"""The expiry of approval requests nobody decided in time."""

from __future__ import annotations

from django_tasks import task

from daozhang.approvals.services import expire_due
from daozhang.core.scheduler import periodic


@task()
def expire_approvals() -> int:
    return expire_due()


@periodic("approvals.expire", every_seconds=300)
def _enqueue_expiry() -> object:
    return expire_approvals.enqueue()
