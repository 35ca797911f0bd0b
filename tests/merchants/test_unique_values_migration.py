"""Merchants 0007 on a database written before the registry (core.unique): its merchants'
numbers and licences and its portal logins are registered to their merchants before the
unique keys go, so they stay unique across the platform, the next number follows the last
one issued, and an old login still finds its merchant."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from daozhang.core import unique
from daozhang.core.dbroles import as_owner, grant
from daozhang.core.errors import DomainError
from daozhang.core.models import UniqueValue
from daozhang.merchants import services as merchants
from daozhang.merchants.models import UNIQUE_MERCHANT_NO, UNIQUE_USCC, UNIQUE_USER
from tests.conftest import onboarding, valid_uscc
from tests.portal_helpers import PASSWORD, logged_in

BEFORE = [("core", "0011_idempotency_merchant_keys"), ("merchants", "0006_merchantuser_merchant_keys")]
A = uuid.UUID("0190c0de-0000-7000-8000-00000000a001")
B = uuid.UUID("0190c0de-0000-7000-8000-00000000b002")


def _old_rows(apps) -> dict[str, int]:
    """Two merchants and three portal logins, as the models before 0007 wrote them."""
    from django.contrib.auth.hashers import make_password

    fee_plan = apps.get_model("merchants", "FeePlan").objects.create(code="standard", name="Standard 标准费率")
    merchant = apps.get_model("merchants", "Merchant")
    for mid, n, seq in ((A, 62001, 7), (B, 62002, 8)):
        merchant.objects.create(id=mid, merchant_no=f"89829005812{seq:04d}", legal_name=f"旧商户{n}有限公司",
                                short_name=f"旧{n}", uscc=valid_uscc(n), mcc="5812", region_code="2900",
                                contact_name="张三", contact_phone="+8613812345678", fee_plan=fee_plan)
    user = apps.get_model("auth", "User")
    link = apps.get_model("merchants", "MerchantUser")
    ids = {}
    for name, mid, role in (("old-owner-a", A, "owner"), ("old-cashier-a", A, "cashier"), ("old-owner-b", B, "owner")):
        u = user.objects.create(username=name, password=make_password(PASSWORD))
        link.objects.create(user=u, merchant_id=mid, role=role)
        ids[name] = u.pk
    return ids


@pytest.mark.django_db(transaction=True)
def test_the_old_merchants_and_logins_are_registered_to_their_merchants():
    with as_owner(connection):
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        users = _old_rows(executor.loader.project_state(BEFORE).apps)
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
        grant(connection)  # the application's rights on the registry, made again (`migrate` does this)

    assert sorted(UniqueValue.objects.values_list("namespace", "value", "merchant_id")) == sorted([
        (UNIQUE_MERCHANT_NO, "898290058120007", A), (UNIQUE_MERCHANT_NO, "898290058120008", B),
        (UNIQUE_USCC, valid_uscc(62001), A), (UNIQUE_USCC, valid_uscc(62002), B),
        (UNIQUE_USER, str(users["old-owner-a"]), A), (UNIQUE_USER, str(users["old-cashier-a"]), A),
        (UNIQUE_USER, str(users["old-owner-b"]), B),
    ])
    # An old licence cannot onboard again; a new merchant gets the number after the last one.
    with pytest.raises(DomainError) as err:
        merchants.onboard_merchant(data=onboarding(62003, uscc=valid_uscc(62002)), actor="test")
    assert (err.value.code, err.value.field) == ("duplicate", "uscc")
    new = merchants.onboard_merchant(data=onboarding(62004), actor="test")
    assert new.merchant_no == "898290058120009"
    assert unique.owner(namespace=UNIQUE_MERCHANT_NO, value=new.merchant_no) == new.id
    # An old login signs in to its own merchant's portal.
    page = logged_in("old-owner-b").get("/portal/")
    assert page.status_code == 200 and "898290058120008" in page.content.decode()
