"""Finding payments: filters, keyset pages, look-ups and the CSV export."""

from __future__ import annotations

import csv
import io

from tests.conftest import CREDIT_CARD, DEBIT_CARD


def _make_mix(kit):
    ids = {
        "debit": kit.sale(1000, pan=DEBIT_CARD).json(),
        "credit": kit.sale(250000, pan=CREDIT_CARD, entry_mode="contactless").json(),
        "declined": kit.sale(3051).json(),
        "wechat": kit.sale(4200, channel="wechat", entry_mode="qr").json(),
        "alipay": kit.sale(9900, channel="alipay", entry_mode="qr").json(),
    }
    return ids


def test_filters_each_narrow_the_list(merchant_kit):
    made = _make_mix(merchant_kit)

    def ids(**params):
        r = merchant_kit.get("/api/v1/payments", **params)
        assert r.status_code == 200, r.content
        return {p["id"] for p in r.json()["items"]}

    assert len(ids()) == 5
    assert ids(last4=CREDIT_CARD[-4:]) == {made["credit"]["id"]}
    assert ids(status="declined") == {made["declined"]["id"]}
    assert ids(channel="wechat") == {made["wechat"]["id"]}
    assert ids(amount_min=4200, amount_max=9900) == {made["wechat"]["id"], made["alipay"]["id"]}
    assert ids(terminal_id=merchant_kit.terminal.terminal_id.lower()) == ids()
    today = made["debit"]["business_date"]
    assert len(ids(date_from=today, date_to=today)) == 5
    assert ids(date_from="2001-01-01", date_to="2001-01-02") == set()


def test_credit_card_contactless_over_1000_cny_pays_the_credit_rate(merchant_kit):
    p = merchant_kit.sale(250000, pan=CREDIT_CARD, entry_mode="contactless").json()
    assert (p["card_type"], p["fee_rule"], p["fee"]) == ("credit", "credit", 1500)


def test_keyset_pages_cover_every_payment_once(merchant_kit):
    made = {merchant_kit.sale(1000 + i).json()["id"] for i in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = merchant_kit.get("/api/v1/payments", **params).json()
        seen += [p["id"] for p in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 7 and set(seen) == made
    assert merchant_kit.get("/api/v1/payments", cursor="not-a-cursor").json()["error"]["field"] == "cursor"


def test_prev_cursor_pages_back_through_the_same_payments(merchant_kit):
    for i in range(7):
        merchant_kit.sale(1000 + i)
    pages, cursor = [], None
    while True:  # forward: 3, 3, 1
        body = merchant_kit.get("/api/v1/payments", limit=3, **({"cursor": cursor} if cursor else {})).json()
        pages.append(body)
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert [len(p["items"]) for p in pages] == [3, 3, 1] and pages[0]["prev_cursor"] is None
    back = merchant_kit.get("/api/v1/payments", limit=3, before=pages[2]["prev_cursor"]).json()
    assert back["items"] == pages[1]["items"] and back["next_cursor"] and back["prev_cursor"]
    first = merchant_kit.get("/api/v1/payments", limit=3, before=back["prev_cursor"]).json()
    assert first["items"] == pages[0]["items"] and first["prev_cursor"] is None
    assert merchant_kit.get("/api/v1/payments", before="not-a-cursor").json()["error"]["field"] == "before"


def test_lookup_by_rrn_and_by_terminal_and_stan(merchant_kit):
    p = merchant_kit.sale(1234, stan="123456").json()
    by_rrn = merchant_kit.get("/api/v1/payments/lookup", rrn=p["rrn"]).json()
    assert [x["id"] for x in by_rrn] == [p["id"]]
    by_stan = merchant_kit.get("/api/v1/payments/lookup", terminal_id=merchant_kit.terminal.terminal_id,
                               stan="123456", business_date=p["business_date"]).json()
    assert [x["id"] for x in by_stan] == [p["id"]]
    missing = merchant_kit.get("/api/v1/payments/lookup")
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "rrn"


def test_csv_export_has_exact_yuan_amounts_and_masked_cards(merchant_kit):
    made = _make_mix(merchant_kit)
    r = merchant_kit.client.get("/api/v1/payments/export.csv", {"status": "approved"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    text = b"".join(r.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 4
    credit = next(row for row in rows if row["payment_id"] == made["credit"]["id"])
    assert (credit["amount"], credit["fee"], credit["net"]) == ("2500.00", "15.00", "2485.00")
    assert credit["masked_pan"].startswith("625807") and CREDIT_CARD not in text


def test_bad_filters_name_the_field(merchant_kit):
    for params, field in [
        ({"status": "nope"}, "status"), ({"channel": "paypal"}, "channel"), ({"last4": "12a4"}, "last4"),
        ({"amount_min": 10, "amount_max": 5}, "amount_min"), ({"date_from": "2026-02-02", "date_to": "2026-01-01"},
                                                              "date_from"),
        ({"limit": 0}, "limit"), ({"date_from": "yesterday"}, "date_from"),
    ]:
        r = merchant_kit.get("/api/v1/payments", **params)
        assert r.status_code == 400, (params, r.content)
        assert r.json()["error"]["field"] == field, (params, r.json())


def test_a_date_filter_follows_shanghai_midnight_exactly(merchant_kit, monkeypatch):
    from tests.settlement_helpers import Clock

    clock = Clock(monkeypatch)
    clock.at(2026, 11, 2, 23, 59)
    late = merchant_kit.sale(1100).json()
    clock.at(2026, 11, 3, 0, 0)
    early = merchant_kit.sale(1200).json()
    on_2nd = merchant_kit.get("/api/v1/payments", date_from="2026-11-02", date_to="2026-11-02").json()
    on_3rd = merchant_kit.get("/api/v1/payments", date_from="2026-11-03").json()
    assert [p["id"] for p in on_2nd["items"]] == [late["id"]]
    assert [p["id"] for p in on_3rd["items"]] == [early["id"]]
