"""PCI DSS: a full card number (PAN) is never stored, logged or sent back.

Card payments of every outcome, voids, reversals, replays and error paths go through the
API with DEBUG logging (SQL with its parameters included) captured. Then every row of
every table, read through the ORM and as raw column text, every log record and every
response body are searched for the PAN. What is kept instead, the masked PAN (first six
and last four digits) and the keyed HMAC token, must be there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

from daozhang.channels.sandbox import SandboxCardNetwork
from daozhang.core.models import IdempotencyRecord
from daozhang.payments.models import Payment
from daozhang.terminals import services as terminals
from tests.conftest import MerchantKit, card

SALE = "/api/v1/payments/sale"
REVERSAL = "/api/v1/payments/reversal"

# Card numbers used nowhere else in the suite, so a hit can only come from these tests.
PAN_DEBIT = card("622202839174652")  # 16 digits, debit BIN
PAN_CREDIT = card("625807461937285")  # 16 digits, credit BIN
PAN_LONG = card("621700839174652031")  # 19 digits: its 9 hidden digits are searched for too
PANS = (PAN_DEBIT, PAN_CREDIT, PAN_LONG)


def masked(pan: str) -> str:
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


def token(pan: str) -> str:
    return hmac.new(settings.PAN_TOKEN_KEY.encode(), pan.encode(), hashlib.sha256).hexdigest()


def spaced(pan: str, sep: str) -> str:
    return sep.join(pan[i:i + 4] for i in range(0, len(pan), 4))


def forbidden_forms(pan: str) -> list[str]:
    """The PAN as digits, as people write it, and its unkeyed hashes (brute-forceable)."""
    forms = [pan, spaced(pan, " "), spaced(pan, "-")]
    forms += [getattr(hashlib, algo)(pan.encode()).hexdigest() for algo in ("md5", "sha1", "sha256", "sha512")]
    if len(pan) == 19:
        forms.append(pan[6:-4])  # the hidden middle: nothing may reveal more than first 6 + last 4
    return forms


def assert_no_pan(text: str, where: str) -> None:
    for pan in PANS:
        for form in forbidden_forms(pan):
            assert form not in text, f"card number {masked(pan)} found in {where} as {form!r}"


# ------------------------------------------------------------------------ what is read


def orm_dump() -> Iterator[tuple[str, str]]:
    """Every field of every row of every model, as text."""
    for model in apps.get_models(include_auto_created=True):
        for obj in model._base_manager.all():
            for f in model._meta.concrete_fields:
                value = f.value_from_object(obj)
                text = json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, dict | list) else str(
                    value)
                yield f"{model._meta.label}.{f.attname}", text


def raw_dump() -> Iterator[tuple[str, str]]:
    """Every column of every table in the database (Django's or not), as the database's own text."""
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        tables = connection.introspection.table_names(cur, include_views=True)
        assert "payments_payment" in tables
        for table in tables:
            cols = [c.name for c in connection.introspection.get_table_description(cur, table)]
            if not cols:
                continue
            cur.execute(f"SELECT {', '.join(f'CAST({qn(c)} AS TEXT)' for c in cols)} FROM {qn(table)}")
            for row in cur.fetchall():
                for col, value in zip(cols, row, strict=True):
                    yield f"{table}.{col}", "" if value is None else str(value)
            cur.execute(f"SELECT * FROM {qn(table)}")
            for row in cur.fetchall():
                for col, value in zip(cols, row, strict=True):
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("latin-1")
                    yield f"{table}.{col}", "" if value is None else str(value)


def log_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(record.args), repr(vars(record))]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


def body_of(resp: Any) -> str:
    if getattr(resp, "streaming", False):
        return b"".join(resp.streaming_content).decode("utf-8-sig")
    return resp.content.decode()


# ------------------------------------------------------------------------ the scenario


@dataclass
class Recorded:
    kit: MerchantKit
    bodies: list[str] = field(default_factory=list)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)

    def keep(self, resp: Any, status: int | None = None) -> Any:
        text = body_of(resp)
        self.bodies.append(text)
        if status is not None:
            assert resp.status_code == status, text
        return resp


@pytest.fixture
def debug_sql() -> Iterator[None]:
    """Log every SQL statement with its parameters, as DEBUG=True would."""
    old = connection.force_debug_cursor
    connection.force_debug_cursor = True
    yield
    connection.force_debug_cursor = old


def card_sale(kit: MerchantKit, pan: str, amount: int, *, entry_mode: str = "chip", stan: str,
              terminal_id: str | None = None) -> dict[str, Any]:
    return {"terminal_id": terminal_id or kit.terminal.terminal_id, "stan": stan, "amount": amount,
            "channel": "card", "entry_mode": entry_mode, "card_number": pan}


@pytest.fixture
def recorded(make_merchant, caplog, debug_sql, monkeypatch) -> Recorded:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    caplog.set_level(logging.DEBUG, logger="django.request")
    kit = make_merchant()
    rec = Recorded(kit)
    tid = kit.terminal.terminal_id

    def sale(name: str, pan: str, amount: int, stan: str, status: int = 201, **kw: Any) -> Any:
        r = rec.keep(kit.post(SALE, card_sale(kit, pan, amount, stan=stan, **kw), key=f"key-{name}"), status)
        if r.status_code == 201:
            rec.payments[name] = r.json()
        return r

    # Every outcome, every entry mode, the PAN as digits, with spaces and with dashes.
    sale("approved", PAN_DEBIT, 10000, "200001")
    sale("credit", spaced(PAN_CREDIT, " "), 20000, "200002", entry_mode="contactless")
    sale("long", spaced(PAN_LONG, "-"), 30000, "200003", entry_mode="swipe")
    sale("declined", PAN_DEBIT, 10051, "200004")
    sale("failed", PAN_CREDIT, 10096, "200005")
    sale("unknown", PAN_LONG, 10098, "200006")
    sale("to_reverse", PAN_DEBIT, 40000, "200007")
    assert [rec.payments[n]["status"] for n in ("approved", "declined", "failed", "unknown")] == [
        "approved", "declined", "failed", "unknown"]
    # Void, reversals (of an approved sale, an unknown one, and one we never saw).
    rec.keep(kit.post(f"/api/v1/payments/{rec.payments['approved']['id']}/void", {"terminal_id": tid}), 200)
    for stan in ("200007", "200006", "299999"):
        rec.keep(kit.post(REVERSAL, {"terminal_id": tid, "original_stan": stan}), 200)
    # Replays: the same request again, and the same key with another card.
    sale("approved", PAN_DEBIT, 10000, "200001")
    rec.keep(kit.post(SALE, card_sale(kit, PAN_CREDIT, 10000, stan="200001"), key="key-approved"), 422)

    # Error paths, each carrying a real PAN.
    t2 = terminals.register_terminal(serial_number="SN-PAN-2", terminal_id="PANT0002", model="", actor="t")
    terminals.bind_terminal(terminal_id=t2.id, merchant_id=kit.merchant.id, install_address="", actor="t")
    terminals.set_terminal_status(terminal_id=t2.id, status="suspended", actor="t")
    sale("unknown_terminal", PAN_DEBIT, 100, "200010", status=404, terminal_id="NOPE0000")
    sale("suspended_terminal", PAN_DEBIT, 100, "200011", status=409, terminal_id="PANT0002")
    bad_bodies = [
        {**card_sale(kit, PAN_DEBIT, 100, stan="200012"), "amount": 12.5},
        {**card_sale(kit, PAN_DEBIT, 100, stan="200013"), "stan": "12"},
        {**card_sale(kit, PAN_DEBIT, 100, stan="200014"), "card_number": int(PAN_DEBIT)},
        {**card_sale(kit, PAN_CREDIT, 100, stan="200015"), "channel": "wechat", "entry_mode": "qr",
         "wallet_auth_code": "134567890123456789"},
        {**card_sale(kit, PAN_LONG, 100, stan="200016"), "wallet_auth_code": "134567890123456789"},
    ]
    for i, body in enumerate(bad_bodies):
        rec.keep(kit.post(SALE, body, key=f"bad-{i}"), 400)
    rec.keep(kit.post(SALE, card_sale(kit, PAN_DEBIT, 100, stan="200017"), key=""), 400)  # no Idempotency-Key
    raw = json.dumps(card_sale(kit, PAN_DEBIT, 100, stan="200018"))[:-1] + ","  # not valid JSON
    rec.keep(kit.client.post(SALE, data=raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="bad-json"), 400)

    # An unexpected exception while the PAN is in memory: a clean 500, the traceback only in the log.
    def channel_down(self, req):  # type: ignore[no-untyped-def]
        raise ConnectionError("card network unreachable")

    with monkeypatch.context() as m:
        m.setattr(SandboxCardNetwork, "authorize", channel_down)
        rec.keep(kit.post(SALE, card_sale(kit, PAN_CREDIT, 100, stan="200019"), key="boom"), 500)

    # Everything a merchant can read back.
    rec.keep(kit.get("/api/v1/payments", limit=500), 200)
    rec.keep(kit.get("/api/v1/payments/export.csv"), 200)
    for last4 in {p[-4:] for p in PANS}:
        rec.keep(kit.get("/api/v1/payments", last4=last4), 200)
    for p in rec.payments.values():
        rec.keep(kit.get(f"/api/v1/payments/{p['id']}"), 200)
        rec.keep(kit.get("/api/v1/payments/lookup", terminal_id=tid, stan=p["stan"]), 200)
        if p["rrn"]:
            rec.keep(kit.get("/api/v1/payments/lookup", rrn=p["rrn"]), 200)
    return rec


# ------------------------------------------------------------------------------ tests


def test_full_pan_is_in_no_table(recorded):
    seen_tables = set()
    for where, text in [*orm_dump(), *raw_dump()]:
        seen_tables.add(where.rsplit(".", 1)[0])
        assert_no_pan(text, where)
    assert {"payments.Payment", "payments_payment", "core_idempotencyrecord", "audit_auditevent"} <= seen_tables


def test_full_pan_is_in_no_log_record(recorded, caplog):
    records = caplog.get_records("setup") + caplog.get_records("call")  # the scenario runs in the fixture
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    for rec in records:
        assert_no_pan(log_text(rec), f"log record {rec.name}:{rec.levelname}")
        assert_no_pan(formatter.format(rec), f"formatted log record {rec.name}:{rec.levelname}")
    # The capture really saw SQL with its parameters and the 500's traceback, so silence is meaningful.
    sql = [r for r in records if r.name == "django.db.backends" and "payments_payment" in r.getMessage()]
    assert any(masked(PAN_DEBIT) in r.getMessage() for r in sql), "SQL parameters were not captured"
    errors = [r for r in records if r.levelno >= logging.ERROR and r.exc_info]
    assert any("card network unreachable" in log_text(r) for r in errors), "the 500 traceback was not captured"


def test_full_pan_is_in_no_response_body(recorded):
    assert len(recorded.bodies) > 40
    for i, text in enumerate(recorded.bodies):
        assert_no_pan(text, f"response #{i}: {text[:120]}")
        assert "Traceback" not in text


def test_masked_pan_and_keyed_token_are_kept(recorded):
    by_name = recorded.payments
    expected = {"approved": PAN_DEBIT, "credit": PAN_CREDIT, "long": PAN_LONG, "declined": PAN_DEBIT,
                "failed": PAN_CREDIT, "unknown": PAN_LONG, "to_reverse": PAN_DEBIT}
    for name, pan in expected.items():
        p = Payment.objects.get(id=by_name[name]["id"])
        assert p.masked_pan == masked(pan) == by_name[name]["masked_pan"], name
        assert p.last4 == pan[-4:]
        assert p.pan_token == token(pan), name
        assert p.pan_token != hashlib.sha256(pan.encode()).hexdigest()  # keyed, not a bare hash
    # The same card always gets the same token; different cards different tokens.
    tokens = {pan: set(Payment.objects.filter(last4=pan[-4:]).values_list("pan_token", flat=True)) for pan in PANS}
    assert all(len(t) == 1 for t in tokens.values()) and len(set().union(*tokens.values())) == 3
    assert Payment.objects.get(id=by_name["approved"]["id"]).status == "voided"
    assert Payment.objects.get(id=by_name["to_reverse"]["id"]).status == "reversed"
    db = "\n".join(text for _, text in raw_dump())
    for pan in PANS:
        assert masked(pan) in db and token(pan) in db
    export = next(b for b in recorded.bodies if b.startswith("payment_id,"))
    assert masked(PAN_LONG) in export


def test_pan_cannot_be_recovered_from_the_idempotency_record(merchant_kit):
    body = card_sale(merchant_kit, PAN_DEBIT, 12300, stan="300001")
    assert merchant_kit.post(SALE, body, key="pci-1").status_code == 201
    # What someone who can read the table sees:
    rec = IdempotencyRecord.objects.get(key="pci-1")
    seen = rec.body
    first6, last4, hidden = seen["masked_pan"][:6], seen["masked_pan"][-4:], seen["masked_pan"].count("*")
    template = json.dumps({"terminal_id": seen["terminal_id"], "stan": seen["stan"], "amount": seen["amount"],
                           "channel": seen["channel"], "entry_mode": seen["entry_mode"], "card_number": "@PAN@"})
    prefix, suffix = template.split("@PAN@")
    base = hashlib.sha256(b"POST" + SALE.encode() + prefix.encode() + first6.encode())
    tail = (last4 + suffix).encode()
    recovered = None
    for i in range(10**hidden):
        h = base.copy()
        h.update(b"%0*d" % (hidden, i) + tail)
        if h.hexdigest() == rec.request_hash:
            recovered = f"{first6}{i:0{hidden}d}{last4}"
            break
    assert recovered is None, "the full card number was recovered from the database"
