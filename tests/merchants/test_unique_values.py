"""Issue 12: merchant numbers, licences (USCC) and portal logins stay unique across the
platform without a unique key on the merchant tables (which a database distributed by
merchant cannot enforce): through the registry of core.unique, claimed in the transaction
that writes the row.

The attacks: the same licence onboarded twice at the same moment (two staff members, or a
double-submitted form), two onboardings in one region and MCC at once (the same next
merchant number), and one login linked to two merchants at once. Each ends with one
holder of the value, the other refused with the error the product gives, and nothing of
the refused one written.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from daozhang.audit.models import AuditEvent
from daozhang.core import unique
from daozhang.core.errors import DomainError
from daozhang.core.models import UniqueValue
from daozhang.ledger.models import Account
from daozhang.merchants import services as merchants
from daozhang.merchants.models import (
    UNIQUE_MERCHANT_NO,
    UNIQUE_USCC,
    UNIQUE_USER,
    Merchant,
    MerchantUser,
    SettlementAccount,
)
from tests.conftest import onboarding, valid_uscc
from tests.portal_helpers import logged_in, portal_user
from tests.threads import at_once


def outcome(task: Any) -> Any:
    """The task's result, or the DomainError it raised (as its code and field)."""
    try:
        return task()
    except DomainError as exc:
        return ("refused", exc.code, exc.field)


def past_the_early_check(monkeypatch: pytest.MonkeyPatch, n: int = 2) -> None:
    """Hold every onboarding after its early duplicate check (a read of the registry, outside
    the transaction) until `n` have made it: all of them see the licence free and go on to
    claim it, as two staff members pressing "onboard" together would."""
    real = unique.owner
    gate = threading.Barrier(n, timeout=20)
    checks = itertools.count(1)

    def owner_then_wait(**kw: Any) -> Any:
        found = real(**kw)
        if kw["namespace"] == UNIQUE_USCC and not connection.in_atomic_block and next(checks) <= n:
            gate.wait()
        return found

    monkeypatch.setattr(unique, "owner", owner_then_wait)


def written_for(uscc: str) -> dict[str, int]:
    """What onboarding writes, counted for one licence's merchants."""
    ids = list(Merchant.objects.filter(uscc=uscc).values_list("id", flat=True))
    return {
        "merchants": len(ids),
        "accounts": SettlementAccount.objects.filter(merchant_id__in=ids).count(),
        "ledger": Account.objects.filter(merchant_id__in=ids).count(),
        "audit": AuditEvent.objects.filter(action="merchant.onboard", merchant_id__in=ids).count(),
        "registered": UniqueValue.objects.filter(merchant_id__in=ids).count(),
    }


def test_the_same_licence_again_is_refused_with_the_error_it_always_got(db):
    first = merchants.onboard_merchant(data=onboarding(61001), actor="test")
    with pytest.raises(DomainError) as err:
        merchants.onboard_merchant(data=onboarding(61002, uscc=first.uscc), actor="test")
    assert (err.value.code, err.value.field, err.value.status) == ("duplicate", "uscc", 400)
    assert written_for(first.uscc) == {"merchants": 1, "accounts": 1, "ledger": 1, "audit": 1, "registered": 2}
    assert unique.owner(namespace=UNIQUE_USCC, value=first.uscc) == first.id
    assert unique.owner(namespace=UNIQUE_MERCHANT_NO, value=first.merchant_no) == first.id


@pytest.mark.django_db(transaction=True)
def test_the_same_licence_onboarded_twice_at_once_makes_one_merchant(monkeypatch):
    """Both onboardings find the licence free, then both claim it: one merchant is made,
    the other onboarding is refused (duplicate uscc) and leaves nothing behind."""
    uscc = valid_uscc(61101)
    past_the_early_check(monkeypatch)
    results = at_once(lambda: outcome(
        lambda: merchants.onboard_merchant(data=onboarding(61101, uscc=uscc), actor="test")))
    made = [r for r in results if isinstance(r, Merchant)]
    assert len(made) == 1 and [r for r in results if not isinstance(r, Merchant)] == [("refused", "duplicate", "uscc")]
    assert written_for(uscc) == {"merchants": 1, "accounts": 1, "ledger": 1, "audit": 1, "registered": 2}
    assert UniqueValue.objects.count() == 2  # the refused one's merchant number is not held either
    assert unique.owner(namespace=UNIQUE_USCC, value=uscc) == made[0].id


@pytest.mark.django_db(transaction=True)
def test_two_onboardings_in_one_region_and_mcc_at_once_get_two_numbers(monkeypatch):
    """Both compute the same next merchant number; the registry lets one hold it; the other
    waits for it, then takes the number after. The number is the platform's to issue, so
    neither staff member sees an error. PostgreSQL: SQLite runs one writer at a time, so
    the two cannot compute the number together there."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL")
    real = unique.claim
    gate = threading.Barrier(2, timeout=20)
    tried: list[str] = []

    def claim_together(**kw: Any) -> None:
        if kw["namespace"] == UNIQUE_MERCHANT_NO:
            tried.append(kw["value"])
            if len(tried) <= 2:
                gate.wait()  # both hold their number's computation, inside their transactions
        real(**kw)

    monkeypatch.setattr(unique, "claim", claim_together)
    numbers = itertools.count(61201)  # a licence each
    results = at_once(lambda: merchants.onboard_merchant(data=onboarding(next(numbers)), actor="test"))
    assert sorted(m.merchant_no for m in results) == ["898290058120001", "898290058120002"]
    assert sorted(tried) == ["898290058120001", "898290058120001", "898290058120002"]  # one collision, one retry
    for m in results:
        assert unique.owner(namespace=UNIQUE_MERCHANT_NO, value=m.merchant_no) == m.id
    assert Merchant.objects.count() == 2 and UniqueValue.objects.count() == 4


def test_a_number_taken_every_time_is_refused_and_nothing_is_written(db, monkeypatch):
    """Should the next number be taken try after try (onboardings racing for it), the
    onboarding gives up with a clear duplicate merchant_no error and writes nothing."""
    other = merchants.onboard_merchant(data=onboarding(61301), actor="test")
    monkeypatch.setattr(merchants, "_next_merchant_no", lambda region, mcc: other.merchant_no)
    uscc = valid_uscc(61302)
    with pytest.raises(DomainError) as err:
        merchants.onboard_merchant(data=onboarding(61302), actor="test")
    assert (err.value.code, err.value.field) == ("duplicate", "merchant_no")
    assert written_for(uscc) == {"merchants": 0, "accounts": 0, "ledger": 0, "audit": 0, "registered": 0}
    assert unique.owner(namespace=UNIQUE_USCC, value=uscc) is None
    assert UniqueValue.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_one_login_linked_to_two_merchants_at_once_belongs_to_one(make_merchant):
    """The same auth user made a portal login of two merchants at the same moment: one link
    is made, the other refused as a second link always was (duplicate username), and the
    user signs in to the winner's portal only."""
    a, b = make_merchant().merchant, make_merchant().merchant
    user = get_user_model().objects.create_user(username="shared-login", password="portal-test-pw-2026")
    inside = connection.vendor == "postgresql"  # SQLite: one writer at a time, so they meet at the claim in turn
    gate = threading.Barrier(2, timeout=20)
    order = iter([a, b])
    lock = threading.Lock()

    def link() -> Any:
        with lock:
            merchant = next(order)
        if not inside:
            gate.wait()

        def run() -> MerchantUser:
            with transaction.atomic():
                if inside:
                    gate.wait()
                return merchants.link_merchant_user(user=user, merchant=merchant, role="owner")

        return outcome(run)

    results = at_once(link)
    won = [r for r in results if isinstance(r, MerchantUser)]
    assert len(won) == 1 and [r for r in results if not isinstance(r, MerchantUser)] == [
        ("refused", "duplicate", "username")]
    assert list(MerchantUser.objects.filter(user=user).values_list("merchant_id", flat=True)) == [won[0].merchant_id]
    assert unique.owner(namespace=UNIQUE_USER, value=str(user.pk)) == won[0].merchant_id
    page = logged_in("shared-login").get("/portal/")
    winner = Merchant.objects.get(id=won[0].merchant_id)
    loser = b if winner.id == a.id else a
    assert page.status_code == 200
    assert winner.merchant_no in page.content.decode() and loser.merchant_no not in page.content.decode()


def test_a_second_link_of_a_login_is_refused_and_leaves_nothing(merchant_kit, make_merchant):
    other = make_merchant().merchant
    portal_user(merchant_kit.merchant.id, "owner-one")
    user = get_user_model().objects.get(username="owner-one")
    with pytest.raises(DomainError) as err, transaction.atomic():
        merchants.link_merchant_user(user=user, merchant=other, role="cashier")
    assert (err.value.code, err.value.field) == ("duplicate", "username")
    assert MerchantUser.objects.filter(user=user).count() == 1
    assert unique.owner(namespace=UNIQUE_USER, value=str(user.pk)) == merchant_kit.merchant.id


def test_a_portal_page_reads_the_login_by_its_merchant(merchant_kit):
    """Every portal request finds its merchant in the registry, then the login by
    (merchant_id, user_id): on a database distributed by merchant, one shard's read."""
    portal_user(merchant_kit.merchant.id, "owner-two")
    client = logged_in("owner-two")
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/portal/")
    assert page.status_code == 200 and merchant_kit.merchant.merchant_no in page.content.decode()
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "merchants_merchantuser"' in q["sql"]]
    assert reads and all('"merchants_merchantuser"."merchant_id" =' in sql for sql in reads), reads


def test_a_claim_outside_a_transaction_is_refused(transactional_db):
    """A claim that could outlive a failed write of its row would hold the value for nothing."""
    with pytest.raises(RuntimeError, match="inside the transaction"):
        unique.claim(namespace="test.x", value="1", merchant_id=Merchant().id, field="x")
