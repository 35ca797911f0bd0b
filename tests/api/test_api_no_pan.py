"""Issue 11 item 5: `payments import` refused a PAN only in `masked_pan`; in any other field
it was stored in clear. The API's answer is one mechanism (core.edge + core.pan), so this
walks every operation of the OpenAPI document, as the document gives them (a new endpoint
is covered without a new test):
- every string field of every POST body (a valid request, built as tests/api/test_api_race.py
  builds it, with a Luhn-valid card number put into one field at a time, written as digits,
  with spaces or with dashes) is refused with 400 `full_pan` naming that field, and nothing
  is written — no row in any table, the idempotency record included;
- every query parameter and every path parameter of every operation likewise;
- only the fields the document declares (`x-daozhang-pan`: the sale's card number, the
  settlement account number, the wallet code) are let through, and they are the only ones.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from daozhang.access.services import issue_staff_token
from daozhang.core import pan
from tests.api.test_api_race import SECURITY, Call, World, build_call, openapi_document, post_operations, spec_for
from tests.conftest import card

DOC = openapi_document()
PANS = (card("453201511283036"), card("517805234567890"), card("622588123456789"))  # Visa, MC, UnionPay
API = "/api/v1/"


def written(i: int) -> str:
    number = PANS[i % len(PANS)]
    return [number, " ".join(number[j:j + 4] for j in range(0, 16, 4)),
            "-".join(number[j:j + 4] for j in range(0, 16, 4)), f"ref {number} note"][i % 4]


def resolve(schema: Any) -> Any:
    ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
    if ref.startswith("#/components/schemas/"):
        return resolve(DOC["components"]["schemas"][ref.rsplit("/", 1)[1]])
    return schema


def string_fields(schema: Any, path: str = "") -> list[tuple[str, bool]]:
    """(dotted path, declared to carry a PAN) of every string property of a body schema."""
    schema = resolve(schema)
    if not isinstance(schema, dict):
        return []
    out: list[tuple[str, bool]] = []
    options = schema.get("anyOf", []) + schema.get("oneOf", [])
    if path and (schema.get("type") == "string" or any(resolve(o).get("type") == "string" for o in options)):
        declared = bool(schema.get(pan.SCHEMA_KEY)) or any(resolve(o).get(pan.SCHEMA_KEY) for o in options)
        out.append((path, declared))
    for o in options + schema.get("allOf", []):
        if resolve(o).get("type") == "object":
            out += string_fields(o, path)
    for name, sub in schema.get("properties", {}).items():
        out += string_fields(sub, f"{path}.{name}" if path else name)
    return out


def body_schema(op: dict[str, Any]) -> Any:
    return op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")


def put(body: dict[str, Any], path: str, value: str) -> dict[str, Any]:
    out = json.loads(json.dumps(body))
    node = out
    *parents, last = path.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value
    return out


def row_counts() -> dict[str, int]:
    q = connection.ops.quote_name
    tables = sorted(connection.introspection.table_names())
    with connection.cursor() as cur:
        cur.execute(" UNION ALL ".join(f"SELECT %s, COUNT(*) FROM {q(t)}" for t in tables), tables)
        return dict(cur.fetchall())


def refused(resp: Any, field: str, what: str) -> None:
    assert resp.status_code == 400, f"{what}: {resp.status_code} {resp.content[:300]!r}"
    err = resp.json()["error"]
    assert (err["code"], err["field"]) == ("full_pan", field), f"{what}: {err}"
    assert field in err["message"], err
    for number in PANS:
        assert number not in resp.content.decode(), f"{what}: the number is echoed"


@pytest.fixture
def world(make_merchant: Any, monkeypatch: pytest.MonkeyPatch) -> World:
    user = get_user_model().objects.create_superuser("pan-boss", "pan@example.com", "x-very-long-pw-1")
    return World(make_merchant(), issue_staff_token(user=user, name="pan")[1], monkeypatch)


def client(token: str, lang: str = "en") -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE=lang)


POSTS = post_operations(DOC)
OPERATIONS = [(method, path, op) for path, item in DOC["paths"].items() if path.startswith(API)
              for method, op in item.items() if isinstance(op, dict) and "responses" in op]


def test_the_declared_fields_are_only_the_card_and_account_numbers():
    declared = {(op.id, path) for op in POSTS
                for path, is_declared in string_fields(body_schema(DOC["paths"][op.path]["post"])) if is_declared}
    assert declared == {
        ("daozhang_payments_api_sale", "card_number"), ("daozhang_payments_api_sale", "wallet_auth_code"),
        ("daozhang_merchants_api_onboard", "bank_account.account_number"),
    }


@pytest.mark.parametrize("op", POSTS, ids=lambda op: op.id)
def test_a_card_number_in_any_body_field_is_refused_and_nothing_written(op, world):
    fields = [f for f, declared in string_fields(body_schema(DOC["paths"][op.path]["post"])) if not declared]
    if op.no_op:  # changes nothing, takes any object (the ping): its body is scanned all the same
        call = Call(op.id, op.path, {"hello": "x"}, world.token(op.auth))
        fields = ["hello"]
    else:
        call = build_call(op, world, spec_for(op).variants(world)[0])
    c = client(call.token)
    before = row_counts()
    if op.no_op and c.post(call.path, data=json.dumps(call.body), content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY=f"pan-plain-{op.id}").status_code == 403:
        # Refused to every credential before any body is read (the settlement-account change
        # by API key): with a card number it is refused the same, and nothing is written.
        resp = c.post(call.path, data=json.dumps(put(call.body, "hello", written(0))),
                      content_type="application/json", HTTP_IDEMPOTENCY_KEY=f"pan-{op.id}")
        assert resp.status_code == 403 and PANS[0] not in resp.content.decode(), resp.content
        assert row_counts() == before
        return
    for i, field in enumerate(fields):
        body = put(call.body, field, written(i))
        resp = c.post(call.path, data=json.dumps(body), content_type="application/json",
                      HTTP_IDEMPOTENCY_KEY=f"pan-{op.id}-{i}")
        refused(resp, field, f"POST {call.path} {field}")
        assert "full card number" in resp.json()["error"]["message"]
    # As a number, too, and in a key of an object the schema does not know.
    extra = [put(call.body, "note_pan", int(PANS[0])), {**call.body, f"x{PANS[1]}": 1}]
    for i, body in enumerate(extra):
        resp = c.post(call.path, data=json.dumps(body), content_type="application/json",
                      HTTP_IDEMPOTENCY_KEY=f"pan-extra-{op.id}-{i}")
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "full_pan", resp.content
    assert row_counts() == before, f"{op.id}: something was written"
    # The same request without the card number goes through: the refusal was the number's.
    ok = c.post(call.path, data=json.dumps(call.body), content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=f"pan-ok-{op.id}")
    assert ok.status_code < 300, (op.id, ok.status_code, ok.content[:300])


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS, ids=lambda v: v if isinstance(v, str) else "")
def test_a_card_number_in_any_query_or_path_parameter_is_refused(method, path, op, world):
    auth = {SECURITY.get(name, name) for s in op.get("security", []) for name in s}
    c = client(world.token("staff" if "staff" in auth else "merchant"), lang="zh-CN")
    before = row_counts()
    params = [p for p in op.get("parameters", []) if p.get("in") in ("query", "path")]
    values = {p["name"]: "x" for p in params if p["in"] == "path"}
    for i, p in enumerate(params):
        number = written(i)
        if p["in"] == "query":
            target = path.format(**values)
            resp = getattr(c, method)(target + "?" + f"{p['name']}={number.replace(' ', '+')}",
                                      **({"HTTP_IDEMPOTENCY_KEY": f"q-{i}"} if method == "post" else {}))
            refused(resp, p["name"], f"{method.upper()} {target} ?{p['name']}")
        else:
            target = path.format(**{**values, p["name"]: number.replace(" ", "%20")})
            resp = getattr(c, method)(target, **({"HTTP_IDEMPOTENCY_KEY": f"p-{i}"} if method == "post" else {}))
            refused(resp, "path", f"{method.upper()} {target}")
        assert "卡号" in resp.json()["error"]["message"]
    assert row_counts() == before
