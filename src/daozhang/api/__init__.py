"""The HTTP API: /api/v1/…, OpenAPI at /api/openapi.json, docs at /api/docs."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI
from ninja.operation import Operation

from daozhang.access.api_auth import MerchantKeyAuth, StaffTokenAuth
from daozhang.api.merchants import router as merchant_router
from daozhang.api.merchants import staff_router as staff_merchants
from daozhang.api.payments import router as payments_router
from daozhang.api.ping import router as ping_router
from daozhang.api.risk import staff_router as staff_risk
from daozhang.api.settlement import router as settlement_router
from daozhang.api.settlement import staff_router as staff_settlement
from daozhang.api.terminals import router as terminals_router
from daozhang.api.terminals import staff_router as staff_terminals
from daozhang.api.tracing import router as tracing_router
from daozhang.core.contract import read_contract_from
from daozhang.core.edge import JsonObjectParser, document_contract
from daozhang.core.http import install_error_handlers


class DaozhangAPI(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        # Every POST's Idempotency-Key header and every operation's error answers: enforced
        # by mechanisms (core.http, core.edge), so stated by one too.
        return document_contract(super().get_openapi_schema(*args, **kwargs))

    def get_openapi_operation_id(self, operation: Operation) -> str:
        # An operationId is published (clients are generated from it), so it does not follow
        # the module a view lives in. ninja's default spells the module path; the ids were
        # published when the routers lived in the domains (`daozhang/payments/api.py`:
        # `daozhang_payments_api_sale`), so `daozhang/api/payments.py` keeps that spelling,
        # and a view whose published id names another module states it (`operation_id=`).
        # tests/api/test_api_contract.py holds the document to the published list.
        domain = operation.view_func.__module__.rsplit(".", 1)[-1]
        return f"daozhang_{domain}_api_{operation.view_func.__name__}"


api = DaozhangAPI(
    title="daozhang 到账 API",
    version="1",
    description=(
        "Merchant calls authenticate with `Authorization: Bearer dzk_…` (a merchant API key); "
        "staff calls with `Bearer dzs_…`. Every state-changing call needs an `Idempotency-Key` "
        "header. Amounts are integer fen, at most 999,999,999,999; dates are YYYY-MM-DD within "
        "2000-01-01…2099-12-31; bodies are JSON objects (`Content-Type: application/json`, at most "
        "2.5 MB). See docs/api.md for every input rule. Errors: `{\"error\": {code, field, message}}`, the "
        "message in zh-CN or English by `Accept-Language`."
    ),
    urls_namespace="api",
    parser=JsonObjectParser(),
)
install_error_handlers(api)
api.add_router("/v1/", payments_router, auth=MerchantKeyAuth())
api.add_router("/v1/", merchant_router, auth=MerchantKeyAuth())
api.add_router("/v1/", terminals_router, auth=MerchantKeyAuth())
api.add_router("/v1/", tracing_router, auth=MerchantKeyAuth())
api.add_router("/v1/", settlement_router, auth=MerchantKeyAuth())
api.add_router("/v1/", ping_router, auth=MerchantKeyAuth())
api.add_router("/v1/staff/", staff_merchants, auth=StaffTokenAuth())
api.add_router("/v1/staff/", staff_terminals, auth=StaffTokenAuth())
api.add_router("/v1/staff/", staff_risk, auth=StaffTokenAuth())
api.add_router("/v1/staff/", staff_settlement, auth=StaffTokenAuth())
# The edge refuses query parameters the document does not give an operation.
read_contract_from(api.get_openapi_schema)
