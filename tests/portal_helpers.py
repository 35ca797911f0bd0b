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
    c = Client(**client_kwargs)
    assert c.post("/login/", {"username": username, "password": PASSWORD}).status_code == 302
    return c
