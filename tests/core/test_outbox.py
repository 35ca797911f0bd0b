"""The outbox (core.events): events commit with their change, each subscriber gets each event
once, failures back off and end dead, and real worker processes — killed mid-delivery, or
several at once — deliver exactly once."""

from __future__ import annotations

import datetime as dt
import signal
from pathlib import Path

import pytest
from django.db import transaction

from daozhang.core import events
from daozhang.core.errors import DomainError
from daozhang.core.models import Alert, DeliveryStatus, JobRun, OutboxDelivery, OutboxEvent
from daozhang.notifications.models import Notification, SandboxMessage
from daozhang.settlement.adjustments import adjust
from tests.outbox_support import T0, outbox_env, stop_process, wait_until, worker_process


class Boom(Exception):
    pass


@pytest.fixture
def recorder():
    """A subscriber to `test.*` whose side effect is a row (a JobRun) in its own commit."""
    state = {"fail": 0}

    def handle(event: events.Event) -> None:
        if state["fail"] > 0:
            state["fail"] -= 1
            raise Boom("not today")
        JobRun.objects.create(kind="test.outbox", label=str(event.id), total=event.data.get("n"))

    events.subscribe("test.*", handle, name="test.recorder")
    yield state
    events.unsubscribe("test.recorder")


def _emit(n: int = 1) -> None:
    with transaction.atomic():
        events.emit("test.thing", merchant_id=None, data={"n": n})


def test_an_event_is_written_only_if_its_transaction_commits(db, recorder):
    with pytest.raises(Boom), transaction.atomic():
        events.emit("test.thing", merchant_id=None, data={"n": 1})
        raise Boom
    assert not OutboxEvent.objects.exists() and not OutboxDelivery.objects.exists()
    _emit(2)
    e = OutboxEvent.objects.get()
    assert e.kind == "test.thing" and e.data == {"n": 2}
    assert OutboxDelivery.objects.get().subscriber == "test.recorder"


def test_a_failed_business_change_leaves_no_event(make_merchant):
    kit = make_merchant()
    with pytest.raises(DomainError):
        adjust(merchant_id=kit.merchant.id, amount=0, reason="x", actor="staff:t")
    assert not OutboxEvent.objects.filter(kind="adjustment").exists()
    adjust(merchant_id=kit.merchant.id, amount=500, reason="补差", actor="staff:t")
    e = OutboxEvent.objects.get(kind="adjustment")
    assert e.merchant_id == kit.merchant.id and e.data["amount"] == 500 and e.data["reason"] == "补差"


def test_emit_refuses_floats_and_non_json_values(db):
    with transaction.atomic():
        with pytest.raises(TypeError, match="float"):
            events.emit("test.thing", merchant_id=None, data={"amount": 1.5})
        with pytest.raises(TypeError, match="JSON"):
            events.emit("test.thing", merchant_id=None, data={"when": dt.date(2026, 1, 1)})


def test_each_event_is_delivered_once_per_subscriber(db, recorder, hand_clock):
    with transaction.atomic():
        events.emit_many([events.NewEvent("test.thing", None, {"n": i}) for i in range(5)])
        events.emit("other.thing", merchant_id=None, data={})  # nobody listens: no delivery
    assert OutboxDelivery.objects.count() == 5
    assert events.deliver_all().done == 5
    assert events.deliver_all().claimed == 0  # nothing twice
    assert sorted(JobRun.objects.filter(kind="test.outbox").values_list("total", flat=True)) == [0, 1, 2, 3, 4]
    assert set(OutboxDelivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.DONE, 1)}


def test_failures_back_off_exponentially_then_succeed(db, recorder, hand_clock, settings):
    settings.OUTBOX_RETRY_BASE_SECONDS, settings.OUTBOX_MAX_ATTEMPTS = 30, 5
    recorder["fail"] = 2
    _emit()
    assert events.deliver_all().failed == 1
    row = OutboxDelivery.objects.get()
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 1, T0 + dt.timedelta(seconds=30))
    assert "Boom: not today" in row.last_error
    hand_clock.advance(29)
    assert events.deliver_all().claimed == 0  # still backing off
    hand_clock.advance(1)
    assert events.deliver_all().failed == 1
    row.refresh_from_db()
    assert row.next_attempt_at == T0 + dt.timedelta(seconds=30 + 60)  # doubled
    hand_clock.advance(60)
    assert events.deliver_all().done == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("done", 3, "")
    assert JobRun.objects.filter(kind="test.outbox").count() == 1


def test_a_delivery_gives_up_after_max_attempts_and_staff_can_retry(db, recorder, hand_clock, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    recorder["fail"] = 99
    _emit()
    for _ in range(3):
        events.deliver_all()
        hand_clock.advance(3600)
    row = OutboxDelivery.objects.get()
    assert (row.status, row.attempts) == ("dead", 3)
    assert events.deliver_all().claimed == 0  # dead stays dead
    assert Alert.objects.filter(kind="outbox_dead", key="test.recorder", resolved_at__isnull=True).exists()
    recorder["fail"] = 0
    with transaction.atomic():
        assert events.retry_now(row.id)
    assert events.deliver_all().done == 1
    assert JobRun.objects.filter(kind="test.outbox").count() == 1


def test_an_expired_lease_is_claimed_again_and_the_old_worker_writes_nothing(db, recorder, hand_clock, settings):
    """A worker that stalls past its lease loses the row: its commit is refused, so the
    subscriber's writes are rolled back and only the new claimant's count."""
    _emit()
    [stale] = events._claim(10)
    hand_clock.advance(settings.OUTBOX_LEASE_SECONDS + 1)
    [fresh] = events._claim(10)
    assert fresh.attempts == 2 and fresh.lease != stale.lease
    assert events._deliver(stale) == "lost"
    assert events._deliver(fresh) == "done"
    assert JobRun.objects.filter(kind="test.outbox").count() == 1


# --- real worker processes ---------------------------------------------------------------


def test_a_worker_killed_mid_delivery_leaves_the_event_to_be_delivered_once(make_merchant, child_env, tmp_path):
    kit = make_merchant()
    adjust(merchant_id=kit.merchant.id, amount=1234, reason="补差", actor="staff:t")
    env = outbox_env(child_env)
    first = worker_process({**env, "DAOZHANG_TEST_BLOCK_DIR": str(tmp_path)})
    try:
        sending = Path(tmp_path) / "sending"
        assert wait_until(sending.exists, first), stop_process(first)
        first.send_signal(signal.SIGKILL)  # inside the provider, inside the delivery's transaction
        first.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL
    assert not SandboxMessage.objects.exists()  # the killed attempt's writes are gone
    row = OutboxDelivery.objects.get(subscriber="notifications.sms")
    assert row.status == "pending" and row.attempts == 1  # claimed once, never finished

    second = worker_process(env)
    try:
        assert wait_until(lambda: OutboxDelivery.objects.filter(id=row.id, status="done").exists(), second), \
            stop_process(second)
    finally:
        out = stop_process(second)
    assert SandboxMessage.objects.count() == 1, out
    sent = Notification.objects.get(channel="sms")
    assert (sent.status, sent.attempts) == ("sent", 2)
    assert sent.body_en.startswith("¥12.34 was credited to your account by staff:t")
    assert SandboxMessage.objects.get().idempotency_key == f"outbox-{row.id}"


def test_concurrent_workers_deliver_each_event_once(make_merchant, child_env):
    kit = make_merchant()
    n = 120
    with transaction.atomic():
        events.emit_many([events.NewEvent("case_opened", kit.merchant.id,
                                          {"case_id": str(i), "case_no": f"CS{i:05d}", "subject": "?"})
                          for i in range(n)])
    env = {**outbox_env(child_env), "DAOZHANG_OUTBOX_BATCH": "3", "DAOZHANG_OUTBOX_LEASE_SECONDS": "60"}
    workers = [worker_process(env) for _ in range(3)]
    try:
        done = wait_until(lambda: OutboxDelivery.objects.filter(subscriber="notifications.sms", status="done").count()
                     == n, workers[0], bound=240)
    finally:
        outs = [stop_process(w) for w in workers]
    assert done, outs
    keys = list(SandboxMessage.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == n and len(set(keys)) == n
    assert not OutboxDelivery.objects.exclude(status="done").exists()
