"""Property test: whatever payment traffic arrives, the ledger stays right.

A Hypothesis state machine sends random sequences of sales (every channel and entry mode,
amounts that hit the sandbox's decline / failure / unknown tails), voids, reversals of
known and unknown STANs, resolutions of unknown payments, and replays of any earlier
request under its Idempotency-Key, through the service layer or the HTTP API. It keeps
its own model of what each payment's status and fee must be, and after every step checks:

* `check_ledger()` is OK, and independently every entry has ≥ 2 postings summing to zero,
  every stored account balance equals the sum of its postings, and the trial balance is 0;
* the merchant's payable balance equals Σ (amount − fee) of its payments now approved;
* each payment's ledger footprint (entries by kind, net per account purpose) matches its
  status: an approved sale owes the merchant amount − fee, anything else nets to zero;
* platform receivables and fee income equal the approved amounts and fees.

Every example runs in its own savepoint (rolled back at teardown) with a fresh merchant.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from daozhang.core.errors import DomainError
from daozhang.ledger.accounts import merchant_payable
from daozhang.ledger.models import Account, Entry, Posting
from daozhang.ledger.selectors import check_ledger, merchant_payable_balance, purpose_balance
from daozhang.payments import services
from daozhang.payments.models import Payment, Reversal
from tests.conftest import CREDIT_CARD, DEBIT_CARD

SETTINGS = settings(
    max_examples=30,
    stateful_step_count=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# (channel, entry mode, card number, card type the sandbox derives from the BIN)
CARD_KINDS = [
    ("card", mode, pan, card_type)
    for mode in ("swipe", "chip", "contactless")
    for pan, card_type in ((DEBIT_CARD, "debit"), (CREDIT_CARD, "credit"))
]
WALLET_KINDS = [("wechat", "qr", None, ""), ("alipay", "qr", None, "")]
KINDS = st.one_of(st.sampled_from(CARD_KINDS), st.sampled_from(WALLET_KINDS))
WALLET_CODES = {"wechat": "134567890123456789", "alipay": "2812345678901234"}
OUTCOME_BY_TAIL = {51: "declined", 55: "declined", 5: "declined", 96: "failed", 97: "unknown", 98: "unknown"}
TAILS = st.one_of(st.sampled_from([0, 1, 5, 50, 51, 55, 96, 97, 98, 99]), st.integers(0, 99))
YUAN = st.one_of(st.integers(0, 30), st.integers(0, 3_000), st.integers(0, 10_000_000))
AMOUNTS = st.builds(lambda yuan, tail: yuan * 100 + tail, YUAN, TAILS).filter(lambda fen: fen > 0)
ROUTES = st.sampled_from(["service", "http"])


def half_up(amount: int, ppm: int, cap: int | None = None) -> int:
    fee = (amount * ppm + 500_000) // 1_000_000
    return fee if cap is None else min(fee, cap)


def expected_fee(plan: Any, channel: str, mode: str, card_type: str, amount: int) -> int:
    """The fee plan rules restated independently of `payments.fees` (docs/money.md#fee-plans)."""
    if channel != "card":
        return half_up(amount, plan.wallet_rate_ppm)
    if mode == "contactless" and amount <= plan.quickpass_limit_fen:
        return half_up(amount, plan.quickpass_rate_ppm)
    if card_type == "credit":
        return half_up(amount, plan.credit_rate_ppm, plan.credit_cap_fen)
    return half_up(amount, plan.debit_rate_ppm, plan.debit_cap_fen)


@dataclass
class Pay:
    id: str
    amount: int
    channel: str
    stan: str
    fee: int  # what the fee is or will be once approved
    status: str
    booked: bool = False  # a sale entry exists
    undo: str | None = None  # "void" / "reversal" entry posted


@dataclass
class Call:
    """A request already sent once, kept so it can be replayed with the same key."""

    key: str
    body: dict[str, Any]
    via: str
    http_body: dict[str, Any] | None = None  # the first successful HTTP answer under this key
    result: dict[str, Any] = field(default_factory=dict)


def test_ledger_invariants_hold_under_random_payment_traffic(make_merchant):
    class PaymentTraffic(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self._savepoint = transaction.atomic()
            self._savepoint.__enter__()
            self.kit = make_merchant()
            self.merchant = self.kit.merchant
            self.tid = self.kit.terminal.terminal_id
            self.payable = merchant_payable(self.merchant.id)
            self.plan = self.merchant.fee_plan
            self.pays: dict[str, Pay] = {}
            self.by_stan: dict[str, str] = {}
            self.sales: list[Call] = []
            self.voids: list[Call] = []
            self.reversals: list[Call] = []
            self.seq = itertools.count(1)

        def teardown(self) -> None:
            transaction.set_rollback(True)
            self._savepoint.__exit__(None, None, None)

        # -- plumbing ---------------------------------------------------------------------

        def http(self, path: str, body: dict[str, Any], key: str) -> tuple[int, dict[str, Any]]:
            r = self.kit.post(path, body, key=key)
            return r.status_code, r.json()

        def snapshot(self) -> tuple[int, int, int, dict[str, int]]:
            return (Payment.objects.count(), Entry.objects.count(), Reversal.objects.count(),
                    dict(Account.objects.values_list("code", "balance")))

        def new_stan(self) -> str:
            return f"{next(self.seq):06d}"  # terminals number their requests; never reused here

        # -- sales ------------------------------------------------------------------------

        @rule(amount=AMOUNTS, kind=KINDS, via=ROUTES)
        def sale(self, amount: int, kind: tuple[str, str, str | None, str], via: str) -> None:
            self.new_sale(amount, kind, via)

        @rule(yuan=YUAN, tail=st.sampled_from([97, 98]), kind=KINDS, via=ROUTES)
        def sale_left_unknown(self, yuan: int, tail: int, kind: tuple[str, str, str | None, str], via: str) -> None:
            """A timeout: the worker or a reversal must settle it (98: the payer paid)."""
            self.new_sale(yuan * 100 + tail, kind, via)

        def new_sale(self, amount: int, kind: tuple[str, str, str | None, str], via: str) -> None:
            channel, mode, pan, card_type = kind
            body = {"terminal_id": self.tid, "stan": self.new_stan(), "amount": amount, "channel": channel,
                    "entry_mode": mode, "card_number": pan, "wallet_auth_code": WALLET_CODES.get(channel)}
            call = Call(key=f"sale-{uuid.uuid4().hex[:12]}", body=body, via=via)
            status, out = self.send_sale(call)
            assert status == 201, out
            expected = OUTCOME_BY_TAIL.get(amount % 100, "approved")
            assert out["status"] == expected
            fee = expected_fee(self.plan, channel, mode, card_type, amount)
            assert out["fee"] == (fee if expected == "approved" else 0)
            p = Pay(id=out["id"], amount=amount, channel=channel, stan=body["stan"], fee=fee,
                    status=expected, booked=expected == "approved")
            assert p.id not in self.pays
            self.pays[p.id], self.by_stan[p.stan] = p, p.id
            call.result = {"id": p.id}
            self.sales.append(call)
            note(f"sale {amount} {channel}/{mode} via {via} -> {expected} fee {out['fee']} ({p.id})")

        def send_sale(self, call: Call, via: str | None = None) -> tuple[int, dict[str, Any]]:
            if (via or call.via) == "http":
                status, out = self.http("/api/v1/payments/sale", call.body, call.key)
                if status == 201 and call.http_body is None:
                    call.http_body = out
                return status, out
            try:
                p, _ = services.sale(merchant=self.merchant, idempotency_key=call.key,
                                     req=services.SaleRequest(**call.body))
            except DomainError as exc:
                return exc.status, {"error": {"code": exc.code}}
            return 201, {"id": str(p.id), "status": p.status, "fee": p.fee}

        @precondition(lambda self: self.sales)
        @rule(data=st.data(), via=ROUTES)
        def replay_sale(self, data: st.DataObject, via: str) -> None:
            call = data.draw(st.sampled_from(self.sales))
            stored = call.http_body if via == "http" else None
            before = self.snapshot()
            status, out = self.send_sale(call, via)
            assert status == 201, out
            assert out["id"] == call.result["id"]
            if stored is not None:
                assert out == stored  # the first answer, word for word
            else:
                assert out["status"] == self.pays[call.result["id"]].status
            assert self.snapshot() == before
            note(f"replay sale {call.key} via {via}")

        @precondition(lambda self: self.sales)
        @rule(data=st.data(), via=ROUTES, change=st.sampled_from(["amount", "stan"]))
        def reuse_sale_key_for_another_sale(self, data: st.DataObject, via: str, change: str) -> None:
            call = data.draw(st.sampled_from(self.sales))
            body = dict(call.body)
            body[change] = body["amount"] + 100 if change == "amount" else self.new_stan()
            before = self.snapshot()
            status, out = self.send_sale(Call(key=call.key, body=body, via=via))
            assert status == 422 and out["error"]["code"] == "idempotency_key_reused", out
            assert self.snapshot() == before

        # -- voids ------------------------------------------------------------------------

        @precondition(lambda self: self.pays)
        @rule(data=st.data(), via=ROUTES)
        def void(self, data: st.DataObject, via: str) -> None:
            pid = data.draw(st.sampled_from(sorted(self.pays)))
            call = Call(key=f"void-{uuid.uuid4().hex[:12]}", body={"terminal_id": self.tid}, via=via,
                        result={"id": pid})
            self.send_void(call, via)
            self.voids.append(call)

        @precondition(lambda self: self.voids)
        @rule(data=st.data(), via=ROUTES)
        def replay_void(self, data: st.DataObject, via: str) -> None:
            self.send_void(data.draw(st.sampled_from(self.voids)), via)

        def send_void(self, call: Call, via: str) -> None:
            p = self.pays[call.result["id"]]
            before_status = p.status
            before = self.snapshot()
            stored = call.http_body if via == "http" else None
            if via == "http":
                status, out = self.http(f"/api/v1/payments/{p.id}/void", call.body, call.key)
                if status == 200 and call.http_body is None:
                    call.http_body = out
            else:
                try:
                    done = services.void(merchant=self.merchant, payment_id=uuid.UUID(p.id), terminal_id=self.tid)
                    status, out = 200, {"status": done.status}
                except DomainError as exc:
                    status, out = exc.status, {"error": {"code": exc.code}}
            note(f"void {p.id} ({before_status}) via {via} -> {status}")
            if stored is not None:
                assert (status, out) == (200, stored)
                assert self.snapshot() == before
                return
            if before_status in ("approved", "voided"):
                assert status == 200 and out["status"] == "voided", out
                if before_status == "approved":
                    p.status, p.undo = "voided", "void"
                else:
                    assert self.snapshot() == before  # a repeated void moves nothing again
            else:
                assert status == 409 and out["error"]["code"] == "void_not_allowed", out
                assert self.snapshot() == before

        # -- reversals --------------------------------------------------------------------

        @precondition(lambda self: self.pays)
        @rule(data=st.data(), via=ROUTES, with_amount=st.booleans())
        def reverse_known_sale(self, data: st.DataObject, via: str, with_amount: bool) -> None:
            p = self.pays[data.draw(st.sampled_from(sorted(self.pays)))]
            body: dict[str, Any] = {"terminal_id": self.tid, "original_stan": p.stan}
            if with_amount:
                body["amount"] = p.amount
            call = Call(key=f"rev-{uuid.uuid4().hex[:12]}", body=body, via=via)
            before_status = p.status
            out = self.send_reversal(call, via)
            expected = {"approved": "reversed", "unknown": "reversed", "declined": "nothing_to_undo",
                        "failed": "nothing_to_undo", "voided": "already_undone",
                        "reversed": "already_undone"}[before_status]
            assert out["outcome"] == expected and out["payment_id"] == p.id, out
            if expected == "reversed":
                p.status = "reversed"
                if p.booked:
                    p.undo = "reversal"
            call.result = out
            self.reversals.append(call)
            note(f"reverse {p.id} ({before_status}) via {via} -> {expected}")

        @rule(via=ROUTES, amount=st.none() | AMOUNTS)
        def reverse_unknown_stan(self, via: str, amount: int | None) -> None:
            body: dict[str, Any] = {"terminal_id": self.tid, "original_stan": f"9{next(self.seq):05d}"}
            if amount is not None:
                body["amount"] = amount
            call = Call(key=f"rev-{uuid.uuid4().hex[:12]}", body=body, via=via)
            before = self.snapshot()
            out = self.send_reversal(call, via)
            assert out["outcome"] == "unknown_original" and out["payment_id"] is None, out
            after = self.snapshot()
            assert after[:2] == before[:2] and after[3] == before[3]  # recorded, nothing booked
            call.result = out
            self.reversals.append(call)

        @precondition(lambda self: self.reversals)
        @rule(data=st.data(), via=ROUTES)
        def replay_reversal(self, data: st.DataObject, via: str) -> None:
            call = data.draw(st.sampled_from(self.reversals))
            stored = call.http_body if via == "http" else None
            before = self.snapshot()
            out = self.send_reversal(call, via)
            if stored is not None:
                assert out == stored
            assert (out["id"], out["outcome"], out["payment_id"]) == (
                call.result["id"], call.result["outcome"], call.result["payment_id"])
            assert self.snapshot() == before
            note(f"replay reversal {call.key} via {via}")

        def send_reversal(self, call: Call, via: str) -> dict[str, Any]:
            if via == "http":
                status, out = self.http("/api/v1/payments/reversal", call.body, call.key)
                assert status == 200, out
                if call.http_body is None:
                    call.http_body = out
                return out
            r = services.reverse(merchant=self.merchant, terminal_id=call.body["terminal_id"],
                                 original_stan=call.body["original_stan"], idempotency_key=call.key,
                                 amount=call.body.get("amount"))
            return {"id": str(r.id), "outcome": r.outcome,
                    "payment_id": str(r.payment_id) if r.payment_id else None}

        # -- the worker resolving unknown payments ----------------------------------------

        @precondition(lambda self: self.pays)
        @rule(data=st.data())
        def resolve_unknown(self, data: st.DataObject) -> None:
            unknown = sorted(pid for pid, p in self.pays.items() if p.status == "unknown")
            pid = data.draw(st.sampled_from(unknown or sorted(self.pays)))
            p = self.pays[pid]
            before = p.status
            got = services.resolve_unknown(uuid.UUID(pid))
            if before != "unknown":
                assert got == before
            elif p.channel == "card":
                assert got == "reversed"  # the reversal's outcome
                p.status = "reversed"
            elif p.amount % 100 == 98:
                assert got == "approved"
                p.status, p.booked = "approved", True
            else:
                assert got == "declined"
                p.status = "declined"
            note(f"resolve {pid} ({before}) -> {got}")

        # -- what must hold after every step ----------------------------------------------

        @invariant()
        def ledger_check_is_ok(self) -> None:
            result = check_ledger()
            assert result.ok, (result.unbalanced_entries, result.wrong_balances)

        @invariant()
        def every_entry_balances(self) -> None:
            bad = Entry.objects.annotate(n=Count("postings"), s=Sum("postings__amount")).filter(
                Q(n__lt=2) | ~Q(s=0))
            assert list(bad.values_list("id", "kind", "n", "s")) == []

        @invariant()
        def stored_balances_equal_postings(self) -> None:
            wrong = Account.objects.annotate(s=Coalesce(Sum("postings__amount"), 0)).exclude(balance=F("s"))
            assert list(wrong.values_list("code", "balance", "s")) == []
            assert (Account.objects.aggregate(t=Sum("balance"))["t"] or 0) == 0

        @invariant()
        def merchant_is_owed_the_net_of_its_approved_payments(self) -> None:
            approved = Payment.objects.filter(merchant=self.merchant, status="approved")
            from_db = sum(p.amount - p.fee for p in approved)
            from_model = sum(p.amount - p.fee for p in self.pays.values() if p.status == "approved")
            assert merchant_payable_balance(self.merchant.id) == from_db == from_model

        @invariant()
        def payments_have_the_status_and_fee_the_model_expects(self) -> None:
            rows = Payment.objects.filter(merchant=self.merchant).values_list("id", "status", "fee")
            actual = {str(pid): (status, fee) for pid, status, fee in rows}
            expected = {pid: (p.status, p.fee if p.booked else 0) for pid, p in self.pays.items()}
            assert actual == expected

        @invariant()
        def each_payment_has_the_ledger_footprint_of_its_status(self) -> None:
            kinds = Counter(Entry.objects.filter(merchant_id=self.merchant.id).values_list("business_ref", "kind"))
            expected_kinds: Counter[tuple[str, str]] = Counter()
            expected_net: dict[tuple[str, str], int] = {}
            for p in self.pays.values():
                ref = f"payment:{p.id}"
                if p.booked:
                    expected_kinds[(ref, "payment.sale")] += 1
                if p.undo:
                    expected_kinds[(ref, f"payment.{p.undo}")] += 1
                if p.status == "approved":
                    expected_net[(ref, "channel_receivable")] = p.amount
                    expected_net[(ref, "merchant_payable")] = -(p.amount - p.fee)
                    if p.fee:
                        expected_net[(ref, "fee_income")] = -p.fee
            assert kinds == expected_kinds
            net = (Posting.objects.filter(merchant_id=self.merchant.id)
                   .values_list("entry__business_ref", "account__purpose").annotate(s=Sum("amount")))
            assert {(ref, purpose): s for ref, purpose, s in net if s} == expected_net

        @invariant()
        def platform_accounts_match_approved_payments(self) -> None:
            # The example runs in its own savepoint, so the database holds only its payments.
            approved = Payment.objects.filter(status="approved").aggregate(a=Sum("amount"), f=Sum("fee"))
            assert purpose_balance("channel_receivable") == (approved["a"] or 0)
            assert purpose_balance("fee_income") == -(approved["f"] or 0)
            assert purpose_balance("merchant_payable") == -((approved["a"] or 0) - (approved["f"] or 0))

    run_state_machine_as_test(PaymentTraffic, settings=SETTINGS)


@pytest.mark.parametrize("amount", [1, 99, 199, 100_000, 100_001, 999_999_999_999])
def test_edge_amounts_book_exactly(merchant_kit, amount):
    """The smallest, cap-crossing and largest amounts each book amount − fee, to the fen."""
    r = merchant_kit.sale(amount, entry_mode="contactless")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "approved"
    assert merchant_payable_balance(merchant_kit.merchant.id) == body["net"] == amount - body["fee"]
    assert purpose_balance("channel_receivable") == amount
    assert check_ledger().ok
