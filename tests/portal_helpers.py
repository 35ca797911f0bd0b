"""A merchant with a portal login, for page tests (unit and browser)."""

from __future__ import annotations

from django.test import Client

from daozhang.merchants import services as merchants

PASSWORD = "portal-test-pw-2026"


def portal_user(merchant_id, username: str, role: str = "owner") -> str:
    merchants.create_merchant_user(merchant_id=merchant_id, username=username, password=PASSWORD, role=role,
                                   actor="test")
    return username


def logged_in(username: str, **client_kwargs) -> Client:
    """A client signed in with the password and, if the user has an authenticator, its code."""
    c = Client(**client_kwargs)
    r = c.post("/login/", {"username": username, "password": PASSWORD})
    assert r.status_code == 302
    if r["Location"].startswith("/login/verify/"):
        from tests.twofactor_helpers import code_for

        assert c.post("/login/verify/", {"code": code_for(username)}).status_code == 302
    return c
