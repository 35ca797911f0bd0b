"""Issue 9: exactly once for every state-changing request, under concurrency, on both databases.

The operations come from the OpenAPI document (every POST under /api/v1/), so a new
endpoint is covered without a new test: it fails here, by its operationId, until
`REGISTRY` below says how to make its request data. A POST marked not state-changing
(`openapi_extra={"x-daozhang-no-op": True}` on the route) is exempt and reported as skipped.

Each operation is fired at a real server — `daozhang serve` (gunicorn, 2 processes x 8
threads, as an operator starts it) on the test database, or pytest-django's threaded
`live_server` with DAOZHANG_RACE_SERVER=live — one HTTP connection per thread, opened
first and released together by `tests.threads.at_once`:
- identical: N copies of one request under one Idempotency-Key → one effect; every answer
  is the same success (a shown-once secret is null in replays) or 409 request_in_progress;
- mixed: N requests under one key — two or more distinct bodies/paths of the operation and
  a request to another operation of the same caller → exactly one of them takes effect;
  the others get a replay of it (if identical), 409 request_in_progress or 422
  idempotency_key_reused, and change nothing.

"One effect" is measured, not assumed: every operation's state is built twice through the
services in this process (two twins, each with its own merchant; batches are settled with
the clock moved here, the server keeps the real clock), the burst goes to one twin, and
the request that won is then sent once, alone, to the other. The database delta of the burst
must equal the delta of that single request: row counts of every table (but the
idempotency records, whose layout is the mechanism's business, and the ledger accounts,
opened on first use, shards at random) plus the ledger's entries, postings and balance
per account purpose (platform shards summed; accounts of the twin's merchant as one role,
so the twins compare), and the ledger check is OK at the end.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection

from daozhang.access.services import issue_staff_token
from daozhang.core import clock as core_clock
from daozhang.core.models import IdempotencyRecord
from daozhang.ledger.models import Account
from daozhang.ledger.selectors import check_ledger
from daozhang.risk.services import hold_funds
from daozhang.settlement.models import SettlementBatch
from daozhang.settlement.payouts import hold_batch
from daozhang.terminals import services as terminals
from tests.conftest import DEBIT_CARD, MerchantKit, valid_uscc
from tests.settlement_helpers import Clock
from tests.threads import at_once

OPENAPI = "/api/openapi.json"
NO_OP = "x-daozhang-no-op"
N = 10  # requests fired at once under one key
SECURITY = {"MerchantKeyAuth": "merchant", "StaffTokenAuth": "staff", "StaffPermission": "staff"}
STRONG_PASSWORD = "Qz7!portal-Pw-2718"

_seq = itertools.count(1)


def _n() -> int:
    return 800000 + next(_seq)  # far from tests.conftest's numbers: USCCs and terminal ids stay unique


# ------------------------------------------------------------------ the document


@dataclass(frozen=True)
class Operation:
    id: str
    path: str
    auth: str  # "merchant" (Bearer dzk_…) or "staff" (Bearer dzs_…)
    params: tuple[str, ...]
    no_op: bool
    examples: tuple[dict[str, Any], ...] = ()  # request bodies the document gives as examples


def openapi_document() -> dict[str, Any]:
    """The document the API serves at /api/openapi.json (read in-process at collection time;
    `test_the_served_document_is_the_one_tested` checks the live server serves the same)."""
    from django.test import Client

    r = Client().get(OPENAPI)
    assert r.status_code == 200, r.content[:300]
    return dict(r.json())


def post_operations(doc: dict[str, Any]) -> list[Operation]:
    ops = []
    for path, methods in doc["paths"].items():
        op = methods.get("post")
        if op is None or not path.startswith("/api/v1/"):
            continue
        schemes = {name for s in op.get("security", []) for name in s}
        auth = {SECURITY.get(s, s) for s in schemes}
        ops.append(Operation(
            id=op["operationId"], path=path, auth="/".join(sorted(auth)) or "none",
            params=tuple(p["name"] for p in op.get("parameters", []) if p.get("in") == "path"),
            no_op=bool(op.get(NO_OP)), examples=_examples(doc, op),
        ))
    return ops


def _examples(doc: dict[str, Any], op: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """Example bodies: the media type's `examples` (named, with a value) or `example`, else
    the body schema's JSON-Schema `examples` (following a $ref into components)."""
    media = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    found: list[Any] = [e.get("value") for e in media.get("examples", {}).values() if isinstance(e, dict)]
    if "example" in media:
        found.append(media["example"])
    schema = media.get("schema", {})
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = doc.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
    found += schema.get("examples", []) if isinstance(schema.get("examples"), list) else []
    return tuple(e for e in found if isinstance(e, dict))


OPERATIONS = post_operations(openapi_document())


# ---------------------------------------------------------------------- the worlds


@dataclass
class World:
    """One twin: a merchant with an active terminal and an API key, a staff token, and
    whatever an operation's setup adds. Path parameters are looked up here by name."""

    kit: MerchantKit
    staff_token: str
    monkeypatch: pytest.MonkeyPatch
    ids: dict[str, str] = field(default_factory=dict)
    _clock: Clock | None = None

    def __post_init__(self) -> None:
        self.ids.setdefault("merchant_id", str(self.kit.merchant.id))
        self.ids.setdefault("terminal_pk", str(self.kit.terminal.id))

    @property
    def clock(self) -> Clock:
        if self._clock is None:
            self._clock = Clock(self.monkeypatch)
        return self._clock

    @property
    def merchant_ids(self) -> set[str]:
        return {self.kit.merchant.id.hex}

    def token(self, auth: str) -> str:
        return {"merchant": self.kit.api_key, "staff": self.staff_token}[auth]

    def approved_sale(self, amount: int = 100000) -> dict[str, Any]:
        r = self.kit.sale(amount)
        assert r.status_code == 201 and r.json()["status"] == "approved", r.content
        return dict(r.json())


@dataclass(frozen=True)
class Variant:
    body: dict[str, Any]
    params: dict[str, str] = field(default_factory=dict)  # path params beside World.ids


@dataclass(frozen=True)
class Spec:
    """How to exercise one operation: `variants(world)` builds the state it needs through the
    services and returns two or more distinct valid requests. `shown_once`: answer fields
    only the first answer carries (null in replays)."""

    variants: Callable[[World], list[Variant]]
    shown_once: tuple[str, ...] = ()


def _sale(w: World) -> list[Variant]:
    tid = w.kit.terminal.terminal_id
    return [
        Variant({"terminal_id": tid, "stan": f"{_n() % 1000000:06d}", "amount": 12800, "channel": "card",
                 "entry_mode": "chip", "card_number": DEBIT_CARD}),
        Variant({"terminal_id": tid, "stan": f"{_n() % 1000000:06d}", "amount": 6600, "channel": "wechat",
                 "entry_mode": "qr", "wallet_auth_code": "134567890123456789"}),
    ]


def _void(w: World) -> list[Variant]:
    tid = w.kit.terminal.terminal_id
    return [Variant({"terminal_id": tid}, {"payment_id": w.approved_sale(amount)["id"]}) for amount in (10000, 20000)]


def _reversal(w: World) -> list[Variant]:
    tid = w.kit.terminal.terminal_id
    return [Variant({"terminal_id": tid, "original_stan": w.approved_sale(amount)["stan"]})
            for amount in (10000, 20000)]


def _enquiry(w: World) -> list[Variant]:
    today = core_clock.business_date().isoformat()
    return [Variant({"expected_amount": amount, "expected_date": today}) for amount in (12345, 54321)]


def _onboard(w: World) -> list[Variant]:
    def body(n: int) -> dict[str, Any]:
        return {"legal_name": f"并发测试商户{n}有限公司", "short_name": f"并发{n}", "uscc": valid_uscc(n),
                "mcc": "5812", "region_code": "2900", "contact_name": "赵六", "contact_phone": "13612345678",
                "bank_account": {"holder_name": f"并发测试商户{n}有限公司", "account_number": "31001234567890123",
                                 "bank_name": "中国银行", "account_type": "corporate"}}

    return [Variant(body(_n())), Variant(body(_n()))]


def _merchant_status(w: World) -> list[Variant]:
    return [Variant({"status": "suspended", "reason": reason}) for reason in ("risk review", "owner asked")]


def _api_key(w: World) -> list[Variant]:
    return [Variant({"name": name}) for name in ("till 1", "till 2")]


def _merchant_user(w: World) -> list[Variant]:
    return [Variant({"username": f"race-{_n()}", "password": STRONG_PASSWORD, "role": "owner"}) for _ in range(2)]


def _register_terminal(w: World) -> list[Variant]:
    out = []
    for _ in range(2):
        n = _n()
        out.append(Variant({"serial_number": f"SN-RACE-{n}", "terminal_id": f"R{n:07d}", "model": "race"}))
    return out


def _bind(w: World) -> list[Variant]:
    n = _n()
    spare = terminals.register_terminal(serial_number=f"SN-RACE-{n}", terminal_id=f"R{n:07d}", model="race",
                                        actor="test")
    w.ids["terminal_pk"] = str(spare.id)
    mid = str(w.kit.merchant.id)
    return [Variant({"merchant_id": mid, "install_address": address}) for address in ("一号门店", "二号门店")]


def _terminal_status(w: World) -> list[Variant]:
    return [Variant({"status": status, "reason": "race"}) for status in ("suspended", "in_stock")]


def _freeze(w: World) -> list[Variant]:
    w.approved_sale(100000)
    return [Variant({"case_ref": f"RC-{_n()}", "reason": "risk", "amount": amount}) for amount in (1000, 2000)]


def _release(w: World) -> list[Variant]:
    w.approved_sale(100000)
    hold = hold_funds(merchant_id=w.kit.merchant.id, amount=3000, case_ref=f"RC-{_n()}", reason="risk",
                      actor="test")
    w.ids["hold_id"] = str(hold.id)
    return [Variant({"note": note}) for note in ("cleared", "cleared by compliance")]


def _adjustment(w: World) -> list[Variant]:
    return [Variant({"amount": amount, "reason": reason}) for amount, reason in ((500, "fee refund"), (-300, "fix"))]


def _due_batch(w: World) -> SettlementBatch:
    """A T+1 batch, due, settled at 23:10; the clock stays there (no payout runs yet). The
    twin's sale comes after the first twin's run closed 11-02, so it is on 11-03: each
    settles the date its sale was stamped with."""
    w.clock.at(2026, 11, 2, 10, 0)
    from daozhang.payments.models import Payment

    day = Payment.objects.get(id=w.approved_sale(30000)["id"]).settlement_date
    w.clock.settle(day.year, day.month, day.day)
    batch = SettlementBatch.objects.get(merchant=w.kit.merchant)
    assert batch.status == "due", batch.status
    w.ids["batch_id"] = str(batch.id)
    return batch


def _batch_hold(w: World) -> list[Variant]:
    _due_batch(w)
    return [Variant({"reason": reason}) for reason in ("compliance check", "owner asked")]


def _batch_repay(w: World) -> list[Variant]:
    batch = _due_batch(w)
    hold_batch(batch_id=batch.id, actor="test", reason="compliance check")
    return [Variant({"reason": reason}) for reason in ("checked", "checked twice")]


REGISTRY: dict[str, Spec] = {
    "daozhang_payments_api_sale": Spec(_sale),
    "daozhang_payments_api_void": Spec(_void),
    "daozhang_payments_api_reversal": Spec(_reversal),
    "daozhang_tracing_api_missing_money": Spec(_enquiry),
    "daozhang_merchants_api_onboard": Spec(_onboard),
    "daozhang_merchants_api_merchant_status": Spec(_merchant_status),
    "daozhang_merchants_api_new_api_key": Spec(_api_key, shown_once=("key",)),
    "daozhang_merchants_api_new_merchant_user": Spec(_merchant_user),
    "daozhang_terminals_api_register": Spec(_register_terminal),
    "daozhang_terminals_api_bind": Spec(_bind),
    "daozhang_terminals_api_status": Spec(_terminal_status),
    "daozhang_settlement_api_freeze": Spec(_freeze),
    "daozhang_settlement_api_release": Spec(_release),
    "daozhang_settlement_api_manual_adjustment": Spec(_adjustment),
    "daozhang_settlement_api_hold": Spec(_batch_hold),
    "daozhang_settlement_api_repay": Spec(_batch_repay),
}

# For the mixed burst: another operation of the same caller, needing no state of its own.
OTHER_OPERATION = {
    # (the settlement-account change is refused to every API key since issue 11: a no-op here)
    "merchant": ("daozhang_tracing_api_missing_money", "daozhang_payments_api_sale"),
    "staff": ("daozhang_terminals_api_register", "daozhang_merchants_api_new_api_key"),
}


def spec_for(op: Operation) -> Spec:
    """The REGISTRY entry; else, for an operation whose document gives two or more distinct
    example bodies and whose path parameters World.ids has (merchant_id, terminal_pk), those
    (they go to both twins alike: examples that create unique rows need an entry); else fail."""
    spec = REGISTRY.get(op.id)
    distinct = {json.dumps(e, sort_keys=True): e for e in op.examples}
    if spec is None and len(distinct) >= 2 and set(op.params) <= {"merchant_id", "terminal_pk"}:
        return Spec(lambda w: [Variant(e) for e in distinct.values()])
    if spec is None:
        pytest.fail(
            f"POST {op.path} (operationId {op.id!r}) changes state but {__name__} has no request data for it: "
            f"add REGISTRY[{op.id!r}] = Spec(fn), where fn(world) builds what the call needs through the services "
            f"and returns two or more distinct valid Variant(body, path params) — path params {op.params} are "
            "otherwise taken from World.ids by name — or give the operation two or more example bodies in the "
            f"document. If the call changes nothing, mark its route openapi_extra={{{NO_OP!r}: True}}.",
            pytrace=False)
    return spec


# ---------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class Call:
    op: str
    path: str
    body: dict[str, Any]
    token: str
    shown_once: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    call: int  # index into the burst's calls
    status: int
    body: Any

    @property
    def code(self) -> str | None:
        err = self.body.get("error") if isinstance(self.body, dict) else None
        return err.get("code") if isinstance(err, dict) else None

    def label(self) -> str:
        return f"{self.status} {self.code or ''}".strip()


def connect(base: str) -> http.client.HTTPConnection:
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname or "localhost", url.port, timeout=120)
    conn.connect()
    return conn


def send(base: str, call: Call, key: str, index: int = 0, conn: http.client.HTTPConnection | None = None) -> Answer:
    """One request on its own connection (opened here unless given), as one client would send it."""
    conn = conn or connect(base)
    try:
        conn.request("POST", call.path, body=json.dumps(call.body, ensure_ascii=False).encode(), headers={
            "Authorization": f"Bearer {call.token}", "Idempotency-Key": key, "Accept-Language": "en",
            "Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    try:
        body = json.loads(raw)
    except ValueError:
        body = raw.decode(errors="replace")[:300]
    return Answer(index, resp.status, body)


def burst(base: str, calls: list[Call], key: str) -> list[Answer]:
    """calls[i] on thread i, all released at once; answers in call order. The connections
    are opened first, so the server has a thread waiting on each when the requests leave."""
    conns = [connect(base) for _ in calls]
    order = itertools.count()
    lock = threading.Lock()

    def task() -> Answer:
        with lock:
            i = next(order)
        return send(base, calls[i], key, i, conns[i])

    try:
        return sorted(at_once(task, len(calls)), key=lambda a: a.call)
    finally:
        for c in conns:
            c.close()


def build_call(op: Operation, w: World, v: Variant) -> Call:
    values = {**w.ids, **v.params}
    missing = [p for p in op.params if p not in values]
    if missing:
        pytest.fail(f"{op.id}: no value for path parameter(s) {missing}: set them in World.ids or Variant.params "
                    "in its REGISTRY entry", pytrace=False)
    return Call(op.id, op.path.format(**values), v.body, w.token(op.auth), spec_for(op).shown_once)


# ------------------------------------------------------------------- the database


def _counted_tables() -> list[str]:
    skip = {
        IdempotencyRecord._meta.db_table,  # the mechanism's own bookkeeping: its layout is its business
        # Ledger accounts are opened on first use, platform ones as shards picked per posting: how
        # many a request opens depends on what ran before, not on how often money moved (that
        # is compared by entries, postings and balances).
        Account._meta.db_table,
    }
    tables = set(connection.introspection.table_names())
    unseen = {m._meta.db_table for m in apps.get_models(include_auto_created=True) if m._meta.managed} - tables
    assert not unseen, f"model tables the introspection does not list: {unseen}"
    return sorted(tables - skip)


def snapshot(w: World) -> Counter[tuple[Any, ...]]:
    """Row counts of every table and the ledger's balances by (purpose, type, currency, whose):
    a platform account's shards summed, the twin's merchant as "merchant", another as "other"."""
    state: Counter[tuple[Any, ...]] = Counter()
    tables = _counted_tables()
    q = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(" UNION ALL ".join(f"SELECT %s, COUNT(*) FROM {q(t)}" for t in tables), tables)
        for table, count in cur.fetchall():
            state["rows", table] = count
    mine = w.merchant_ids
    for purpose, type_, currency, merchant_id, balance in Account.objects.values_list(
            "purpose", "type", "currency", "merchant_id", "balance"):
        whose = "platform" if merchant_id is None else "merchant" if merchant_id.hex in mine else "other"
        state["balance", purpose, type_, currency, whose] += balance
    return state


def delta(before: Counter[tuple[Any, ...]], after: Counter[tuple[Any, ...]]) -> dict[tuple[Any, ...], int]:
    return {k: after[k] - before[k] for k in sorted(set(before) | set(after), key=repr) if after[k] != before[k]}


def show_delta(d: dict[tuple[Any, ...], int]) -> str:
    return ", ".join(f"{'/'.join(map(str, k[1:]))}{v:+d}" for k, v in d.items()) or "nothing"


# --------------------------------------------------------------------- fixtures


@pytest.fixture
def staff_token(transactional_db: None) -> str:
    user = get_user_model().objects.create_superuser(f"race-{_n()}", "race@example.com", "x-very-long-pw-1")
    return issue_staff_token(user=user, name="race")[1]


@pytest.fixture(scope="session")
def served(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`daozhang serve` as an operator starts it (gunicorn, 2 processes x 8 threads: requests
    really run in parallel, not taking turns on one GIL) on the test database."""
    from bench.api_load import Server
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{db['NAME']}"
    else:
        url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    server = Server(url, tmp_path_factory.mktemp("serve"))
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


@pytest.fixture
def base_url(transactional_db: None, request: pytest.FixtureRequest) -> str:
    """The server the requests go to: `daozhang serve` (above), or with
    DAOZHANG_RACE_SERVER=live pytest-django's threaded live server in this process (handy
    for a debugger; the requests then take turns on this process's GIL)."""
    if os.environ.get("DAOZHANG_RACE_SERVER") == "live":
        return str(request.getfixturevalue("live_server").url)
    return str(request.getfixturevalue("served"))


@pytest.fixture
def worlds(make_merchant: Callable[..., MerchantKit], staff_token: str, monkeypatch: pytest.MonkeyPatch,
           base_url: str) -> Callable[[], World]:
    return lambda: World(make_merchant(), staff_token, monkeypatch)


def _ids(op: Operation) -> str:
    return op.id.removeprefix("daozhang_")


def _param(op: Operation) -> Any:
    marks = [pytest.mark.skip(reason=f"marked {NO_OP}: changes nothing")] if op.no_op else []
    return pytest.param(op, id=_ids(op), marks=marks)


# ------------------------------------------------------------------------ checks


@dataclass
class Verdict:
    op: Operation
    calls: list[Call]
    answers: list[Answer]
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return ", ".join(f"{n}× {label}" for label, n in Counter(a.label() for a in self.answers).most_common())

    def fail_if_any(self) -> None:
        if self.problems:
            pytest.fail(f"{self.op.id} ({self.op.path}), {len(self.calls)} requests under one key: "
                        f"answers {self.summary()}\n- " + "\n- ".join(self.problems), pytrace=False)


def _without(body: Any, fields: tuple[str, ...]) -> Any:
    return {k: v for k, v in body.items() if k not in fields} if isinstance(body, dict) else body


def judge(op: Operation, calls: list[Call], answers: list[Answer]) -> tuple[Verdict, int | None]:
    """Check the answers; return the verdict and the index of the call that took effect."""
    v = Verdict(op, calls, answers)
    for a in answers:
        if a.status >= 400:
            err = a.body.get("error") if isinstance(a.body, dict) else None
            if not (isinstance(err, dict) and {"code", "field", "message"} <= set(err)):
                v.problems.append(f"request {a.call}: {a.status} without the error shape: {str(a.body)[:200]}")
    ok = [a for a in answers if 200 <= a.status < 300]
    allowed_refusals = {(409, "request_in_progress"), (422, "idempotency_key_reused")}
    for a in answers:
        if a.status >= 300 and (a.status, a.code) not in allowed_refusals:
            v.problems.append(f"request {a.call}: {a.label()} — only the winner's answer, 409 request_in_progress "
                              "or 422 idempotency_key_reused may come back")
    if (422, "idempotency_key_reused") in {(a.status, a.code) for a in answers} and len(
            {(c.path, json.dumps(c.body, sort_keys=True)) for c in calls}) == 1:
        v.problems.append("idempotency_key_reused answered to a request identical to the winner")
    if not ok:
        v.problems.append("no request took effect (no 2xx answer)")
        return v, None
    winners = {json.dumps([calls[a.call].path, calls[a.call].body], sort_keys=True) for a in ok}
    if len(winners) > 1:
        v.problems.append(f"{len(winners)} different requests succeeded under one key: "
                          + "; ".join(sorted(w[:160] for w in winners)))
    first = ok[0]
    shown_once = calls[first.call].shown_once
    for a in ok[1:]:
        if (a.status, _without(a.body, shown_once)) != (first.status, _without(first.body, shown_once)):
            v.problems.append(f"request {a.call} got another success than request {first.call}: "
                              f"{a.status} {str(a.body)[:200]} vs {first.status} {str(first.body)[:200]}")
    for f in shown_once:
        shown = [a.call for a in ok if isinstance(a.body, dict) and a.body.get(f) is not None]
        if len(shown) != 1:
            v.problems.append(f"the shown-once field {f!r} was shown in {len(shown)} answers (once expected)")
    return v, first.call


def run_race(op: Operation, make_world: Callable[[], World], base: str, mixed: bool) -> None:
    spec = spec_for(op)
    others: list[tuple[Operation, Spec]] = []
    if mixed:
        by_id = {o.id: o for o in OPERATIONS}
        pick = next((i for i in OTHER_OPERATION.get(op.auth, ()) if i != op.id and i in by_id and i in REGISTRY), None)
        if pick is not None:
            others.append((by_id[pick], spec_for(by_id[pick])))

    def candidates(w: World) -> list[Call]:
        variants = spec.variants(w)
        assert len(variants) >= 2 and len({json.dumps([v.body, v.params], sort_keys=True) for v in variants}) == len(
            variants), f"{op.id}: REGISTRY must give two or more distinct requests"
        calls = [build_call(op, w, v) for v in variants]
        for other_op, other_spec in others:
            calls.append(build_call(other_op, w, other_spec.variants(w)[0]))
        return calls if mixed else calls[:1]

    # Two twins, built alike: the burst goes to one, the winning request alone to the other.
    racer, twin = make_world(), make_world()
    racer_calls, twin_calls = candidates(racer), candidates(twin)
    calls = [racer_calls[i % len(racer_calls)] for i in range(N)]
    key = f"race-{uuid.uuid4()}"

    before = snapshot(racer)
    answers = burst(base, calls, key)
    burst_delta = delta(before, snapshot(racer))
    verdict, winner = judge(op, calls, answers)

    if winner is not None:
        same = twin_calls[racer_calls.index(calls[winner])]
        before = snapshot(twin)
        alone = send(base, same, f"alone-{uuid.uuid4()}")
        single_delta = delta(before, snapshot(twin))
        assert 200 <= alone.status < 300, f"{op.id}: the winning request, sent alone to the twin: {alone}"
        if burst_delta != single_delta:
            extra = {k: burst_delta.get(k, 0) - single_delta.get(k, 0) for k in set(burst_delta) | set(single_delta)
                     if burst_delta.get(k, 0) != single_delta.get(k, 0)}
            verdict.problems.append(
                "the burst changed more (or other things) than one request does:\n    one request: "
                f"{show_delta(single_delta)}\n    the burst:   {show_delta(burst_delta)}\n    difference:  "
                + show_delta(dict(sorted(extra.items(), key=repr))))
    elif burst_delta:
        verdict.problems.append(f"nothing succeeded, yet the database changed: {show_delta(burst_delta)}")
    check = check_ledger()
    if not check.ok:
        verdict.problems.append(f"ledger check failed: {check}")
    verdict.fail_if_any()


# -------------------------------------------------------------------------- tests


def test_every_state_changing_operation_is_in_the_document_and_covered(base_url: str) -> None:
    conn = connect(base_url)
    conn.request("GET", OPENAPI)
    served = post_operations(json.loads(conn.getresponse().read()))
    conn.close()
    assert served == OPERATIONS, "the live server serves another document than the one the tests were made from"
    assert len(OPERATIONS) >= 17, [o.id for o in OPERATIONS]
    assert {o.auth for o in OPERATIONS} <= {"merchant", "staff"}, {o.id: o.auth for o in OPERATIONS}
    missing = [o.id for o in OPERATIONS if not o.no_op and o.id not in REGISTRY and len(o.examples) < 2]
    assert not missing, f"no request data in REGISTRY for {missing}: see spec_for's message"
    stale = sorted(set(REGISTRY) - {o.id for o in OPERATIONS})
    assert not stale, f"REGISTRY entries for operations the document no longer has: {stale}"


@pytest.mark.parametrize("op", [_param(o) for o in OPERATIONS])
def test_identical_requests_at_once_take_effect_once(op: Operation, worlds: Callable[[], World],
                                                      base_url: str) -> None:
    run_race(op, worlds, base_url, mixed=False)


@pytest.mark.parametrize("op", [_param(o) for o in OPERATIONS])
def test_different_requests_at_once_under_one_key_only_one_takes_effect(op: Operation, worlds: Callable[[], World],
                                                                         base_url: str) -> None:
    run_race(op, worlds, base_url, mixed=True)



def test_an_operation_without_data_fails_by_name_and_a_no_op_is_exempt() -> None:
    """What a new POST meets: no data → a failure naming it; marked no-op → skipped, not run;
    two example bodies in the document → used."""
    doc = {"paths": {
        "/api/v1/ping": {"post": {"operationId": "ping", NO_OP: True, "security": [{"MerchantKeyAuth": []}]}},
        "/api/v1/widgets/{widget_id}/frob": {"post": {
            "operationId": "frob", "security": [{"StaffTokenAuth": []}],
            "parameters": [{"name": "widget_id", "in": "path"}]}},
        "/api/v1/notes": {"post": {
            "operationId": "note", "security": [{"MerchantKeyAuth": []}],
            "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/NoteIn"}}}}}},
    }, "components": {"schemas": {"NoteIn": {"examples": [{"text": "a"}, {"text": "b"}]}}}}
    ping, frob, note = post_operations(doc)
    assert (ping.no_op, ping.auth, frob.auth, frob.params) == (True, "merchant", "staff", ("widget_id",))
    assert _param(ping).marks and not _param(frob).marks
    with pytest.raises(pytest.fail.Exception, match=r"operationId 'frob'.*REGISTRY\['frob'\]"):
        spec_for(frob)
    assert [v.body for v in spec_for(note).variants(None)] == [{"text": "a"}, {"text": "b"}]  # type: ignore[arg-type]
