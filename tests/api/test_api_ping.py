"""POST /api/v1/ping: a merchant checks its key and its client; nothing is written."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client

from daozhang.api import api
from tests.api.test_api_security import assert_error, table_counts

PING = "/api/v1/ping"


def test_ping_without_a_key_is_401_json_and_writes_nothing(merchant_kit):
    before = table_counts()
    for auth in (None, "Bearer dzk_not-a-key", f"Basic {merchant_kit.api_key}"):
        headers = {"HTTP_IDEMPOTENCY_KEY": "p-1"} | ({"HTTP_AUTHORIZATION": auth} if auth else {})
        r = Client(HTTP_ACCEPT_LANGUAGE="en").post(PING, data="{}", content_type="application/json", **headers)
        assert r["Content-Type"].startswith("application/json")
        assert_error(r, 401, "unauthenticated", "Authorization")
    assert table_counts() == before


def test_ping_with_a_key_answers_its_merchant_and_writes_nothing(merchant_kit):
    body = {"terminal_id": merchant_kit.terminal.terminal_id, "stan": "000001", "amount": 100}
    before = table_counts()
    for key in ("ping-1", "ping-1", "ping-2"):  # the same key again is fine: nothing is recorded
        r = merchant_kit.post(PING, body, key=key)
        assert r.status_code == 200, r.content
        out = r.json()
        assert out["merchant_no"] == merchant_kit.merchant.merchant_no
        assert abs(dt.datetime.fromisoformat(out["at"]) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert merchant_kit.post(PING, {}).status_code == 200
    assert table_counts() == before


@pytest.mark.parametrize("key", [None, "", "k" * 121], ids=["absent", "empty", "too-long"])
def test_ping_checks_the_idempotency_key_as_a_change_does(merchant_kit, key):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    r = merchant_kit.client.post(PING, data="{}", content_type="application/json", **headers)
    assert_error(r, 400, "idempotency_key_missing", "Idempotency-Key")


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", "42"])
def test_ping_wants_a_json_object(merchant_kit, body):
    r = merchant_kit.client.post(PING, data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="p")
    assert r.status_code == 400, r.content
    assert r.json()["error"]["code"] in ("invalid_json", "not_an_object")


def test_ping_is_marked_as_changing_nothing_in_openapi():
    op = api.get_openapi_schema()["paths"][PING]["post"]
    assert op["x-daozhang-no-op"] is True
    assert op["security"] == [{"MerchantKeyAuth": []}]
    marked = [(m, p) for p, ops in api.get_openapi_schema()["paths"].items() for m, o in ops.items()
              if o.get("x-daozhang-no-op")]
    # …and the settlement-account change, refused to every API key since issue 11 (item 2).
    assert sorted(marked) == [("post", PING), ("post", "/api/v1/settlement-account/changes")]
    assert json.dumps(op)  # serialisable as served at /api/openapi.json
