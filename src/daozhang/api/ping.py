"""`POST /api/v1/ping`: check a merchant key and a client, changing nothing.

An integrator's first call: it goes through everything a sale goes through before the
sale itself — the merchant API key (`Authorization: Bearer dzk_…`), a JSON body, the
`Idempotency-Key` header every state-changing call needs, the same middleware and error
format — and answers who the key belongs to and the server's time. Nothing is written
(not even an idempotency record), so it can be repeated at will, with any key.

The bench (`bench/api_load.py`) posts the sale's own body here: the no-op figure is what
the HTTP stack costs without the sale, the floor the sale's HTTP figure is held against.
The route is marked `x-daozhang-no-op` in the OpenAPI document: tests that walk every
state-changing POST skip it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Body, Router, Schema, Status

from daozhang.access.api_auth import MerchantRequest
from daozhang.core import clock
from daozhang.core.errors import DomainError
from daozhang.core.http import ErrorOut, idempotency_key

router = Router(tags=["merchant 商户"])


class PingOut(Schema):
    merchant_no: str
    at: dt.datetime


@router.post(
    "/ping", response={200: PingOut, 400: ErrorOut, 401: ErrorOut},
    summary="Check a key and a client, changing nothing 连通测试",
    description="Any JSON object as the body and an `Idempotency-Key` header, as a change needs; "
                "answers the key's merchant and the server's time. Writes nothing.",
    operation_id="daozhang_merchants_ping_ping",  # as published (see daozhang.api)
    openapi_extra={"x-daozhang-no-op": True},
)
def ping(request: MerchantRequest, body: dict[str, Any] = Body(...)) -> Status[dict[str, object]]:  # noqa: B008
    if not idempotency_key(request):  # its format is checked at the edge, as for every POST
        raise DomainError("idempotency_key_missing", "Idempotency-Key")
    return Status(200, {"merchant_no": request.merchant.merchant_no, "at": clock.now()})
