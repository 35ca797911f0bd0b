"""The staff console (Django admin) shows money read-only."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client

from daozhang.payments.models import Payment


def test_staff_browse_payments_ledger_and_audit_but_cannot_edit_them(merchant_kit):
    merchant_kit.sale(12345)
    admin = get_user_model().objects.create_superuser("ops", "ops@example.com", "x-very-long-pw-2")
    c = Client()
    c.force_login(admin)
    for url in ["/admin/payments/payment/", "/admin/ledger/entry/", "/admin/ledger/account/",
                "/admin/merchants/merchant/", "/admin/terminals/terminal/", "/admin/audit/auditevent/",
                "/admin/core/alert/", "/admin/core/jobrun/", "/admin/settlement/settlementbatch/",
                "/admin/settlement/payout/", "/admin/risk/riskhold/", "/admin/support/supportcase/"]:
        r = c.get(url)
        assert r.status_code == 200, url
    p = Payment.objects.get()
    page = c.get(f"/admin/payments/payment/{p.id}/change/")
    assert page.status_code == 200 and b"12345" in page.content
    r = c.post(f"/admin/payments/payment/{p.id}/change/", {"amount": 1, "status": "approved"})
    assert r.status_code == 403
    assert Payment.objects.get().amount == 12345
    assert c.post(f"/admin/payments/payment/{p.id}/delete/", {"post": "yes"}).status_code == 403
