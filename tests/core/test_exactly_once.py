"""The exactly-once mechanism itself (core.once, core.keylock): the claim, its release on a
crash, the record written with the change, expiry. The OpenAPI-wide race test is
test_api_race.py; one commit per sale is counted in test_api_race_regressions.py."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import uuid

import pytest
from django.db import connection, connections

from daozhang.core import keylock
from daozhang.core.errors import DomainError
from daozhang.core.ids import PLATFORM_ID
from daozhang.core.models import IdempotencyRecord
from daozhang.core.once import Request, once, purge_expired, stored
from daozhang.core.tasks import purge_idempotency_records
from daozhang.payments.models import Payment
from tests.threads import at_once


def _req(key: str = "k1", fingerprint: str = "f1", merchant_id: uuid.UUID = PLATFORM_ID) -> Request:
    return Request(merchant_id=merchant_id, scope="test:1", key=key, fingerprint=fingerprint, field="Idempotency-Key")


@pytest.mark.django_db(transaction=True)
def test_a_key_held_by_one_request_is_busy_for_another_until_released():
    entered, release = threading.Event(), threading.Event()
    outcome: list[str] = []

    def first() -> None:
        with keylock.held("once:x"):
            entered.set()
            release.wait(10)
        connections.close_all()

    t = threading.Thread(target=first)
    t.start()
    assert entered.wait(10)

    def second() -> None:
        try:
            with keylock.held("once:x", wait=0.05):
                outcome.append("got it")
        except keylock.Busy:
            outcome.append("busy")
        finally:
            connections.close_all()

    s = threading.Thread(target=second)
    s.start()
    s.join()
    release.set()
    t.join()
    assert outcome == ["busy"]
    with keylock.held("once:x", wait=0):
        pass  # free again once the first let go


@pytest.mark.django_db(transaction=True)
def test_a_second_request_under_a_key_in_progress_is_answered_409_and_changes_nothing():
    inside, release = threading.Event(), threading.Event()
    answers: list[object] = []

    def slow() -> tuple[int, dict[str, str]]:
        inside.set()
        release.wait(10)
        return 201, {"id": "first"}

    def first() -> None:
        answers.append(once(_req(), lambda _c: slow()))
        connections.close_all()

    t = threading.Thread(target=first)
    t.start()
    assert inside.wait(10)
    ran = []
    try:
        with pytest.raises(DomainError) as err:
            from django.test import override_settings

            with override_settings(IDEMPOTENCY_WAIT_SECONDS=0.05):
                once(_req(), lambda _c: ran.append(1) or (201, {"id": "second"}))
        assert (err.value.code, err.value.status, err.value.field) == ("request_in_progress", 409, "Idempotency-Key")
    finally:
        release.set()
        t.join()
    assert ran == []
    assert answers == [(201, {"id": "first"}, False)]
    # Once the first is done, the same request gets its answer.
    assert once(_req(), lambda _c: (201, {"id": "never"})) == (201, {"id": "first"}, True)


@pytest.mark.django_db(transaction=True)
def test_a_waiting_request_gets_the_first_answer_when_the_first_finishes():
    calls: list[int] = []

    def run(_c: object) -> tuple[int, dict[str, int]]:
        calls.append(1)
        threading.Event().wait(0.2)
        return 201, {"n": len(calls)}

    results = at_once(lambda: once(_req("wait"), run), n=4)
    assert calls == [1]
    assert sorted(r[2] for r in results) == [False, True, True, True]
    assert {json.dumps(r[:2]) for r in results} == {json.dumps((201, {"n": 1}))}


@pytest.mark.django_db(transaction=True)
def test_an_error_records_nothing_and_rolls_back_the_change():
    def fails(_c: object) -> tuple[int, object]:
        IdempotencyRecord.objects.create(merchant_id=PLATFORM_ID, scope="side", key="effect", request_hash="h",
                                         status_code=200, body={}, created_at=dt.datetime.now(dt.UTC),
                                         expires_at=dt.datetime.now(dt.UTC))
        raise DomainError("invalid", "amount")

    with pytest.raises(DomainError):
        once(_req("err"), fails)
    assert not IdempotencyRecord.objects.exists()  # neither the change nor a record
    assert once(_req("err"), lambda _c: (200, {"ok": True})) == (200, {"ok": True}, False)


@pytest.mark.django_db(transaction=True)
def test_the_same_key_with_another_request_is_refused():
    once(_req("k", "a"), lambda _c: (200, {}))
    with pytest.raises(DomainError) as err:
        once(_req("k", "b"), lambda _c: (200, {}))
    assert (err.value.code, err.value.status) == ("idempotency_key_reused", 422)


@pytest.mark.django_db(transaction=True)
def test_records_carry_the_merchant_and_expire(settings):
    m = uuid.uuid4()
    once(_req("old", merchant_id=m), lambda _c: (200, {"v": 1}))
    rec = IdempotencyRecord.objects.get(key="old")
    assert rec.merchant_id == m
    assert rec.expires_at - rec.created_at == dt.timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    assert purge_expired(now=rec.expires_at - dt.timedelta(seconds=1)) == 0
    assert stored(_req("old", merchant_id=m)) == (200, {"v": 1})
    assert purge_expired(now=rec.expires_at + dt.timedelta(seconds=1)) == 1
    assert stored(_req("old", merchant_id=m)) is None
    assert purge_idempotency_records.call() == 0


_HOLDER = textwrap.dedent("""
    import sys, time, django
    django.setup()
    from daozhang.core import keylock
    with keylock.held(sys.argv[1]):
        print("held", flush=True)
        time.sleep(60)
""")


@pytest.mark.django_db(transaction=True)
def test_a_claim_left_by_a_killed_process_is_released(child_env):
    """kill -9 in the middle of a request: the server (PostgreSQL) or the kernel (SQLite)
    drops the claim with the process, so the client's retry is not refused forever."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, "once:crash"], env=child_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held", proc.stderr
        with pytest.raises(keylock.Busy), keylock.held("once:crash", wait=0.05):
            pass
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        with keylock.held("once:crash", wait=10):
            pass
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_rebound_terminal_leads_to_its_current_merchant_only(make_merchant):
    """Staff's `daozhang trace TID:STAN` and a terminal's reversal look in the terminal's
    current binding: the earlier owner's sale with the same STAN is not reached."""
    from daozhang.payments.models import PaymentStatus
    from daozhang.terminals import services as terminals
    from daozhang.tracing.management.commands.trace import resolve

    a, b = make_merchant(), make_merchant()
    old = a.sale(4_200, stan="000777")
    assert old.status_code == 201, old.content
    t = a.terminal
    terminals.set_terminal_status(terminal_id=t.id, status="in_stock", actor="test")
    terminals.bind_terminal(terminal_id=t.id, merchant_id=b.merchant.id, install_address="", actor="test")
    terminals.set_terminal_status(terminal_id=t.id, status="active", actor="test")
    with pytest.raises(Exception, match="nothing found"):
        resolve(f"{t.terminal_id}:000777")
    got = b.post("/api/v1/payments/reversal", {"terminal_id": t.terminal_id, "original_stan": "000777"})
    assert got.status_code == 200 and got.json()["outcome"] == "unknown_original", got.content
    assert Payment.objects.get(id=old.json()["id"]).status == PaymentStatus.APPROVED
    new = b.sale(1_000, stan="000777", terminal_id=t.terminal_id).json()
    assert resolve(f"{t.terminal_id}:000777").ref == new["id"]


@pytest.mark.django_db(transaction=True)
def test_no_claim_outlives_its_request(make_merchant):
    """The sale hands its claim to the statement that books it (released at that commit);
    every other ending lets it go itself: nothing is left held for the next request."""
    kit = make_merchant()
    assert kit.sale(10_000, key="a", stan="000001").status_code == 201  # booked: released by the booking
    assert kit.sale(10_051, key="b").status_code == 201  # declined: booked too
    assert kit.sale(10_000, key="a", stan="000001").status_code == 201  # a replay
    assert kit.sale(20_000, key="a", stan="000001").status_code == 422  # the key with another body
    assert kit.sale(10_000, key="c", terminal_id="NOSUCH01").status_code in (400, 404)  # refused
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
            assert cur.fetchone()[0] == 0
    for key in "abc":
        with keylock.held(f"once:{kit.merchant.id}:merchant:{kit.merchant.id}:{key}", wait=0):
            pass
