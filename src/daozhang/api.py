"""The HTTP API: /api/v1/…, OpenAPI at /api/openapi.json, docs at /api/docs."""

from __future__ import annotations

from ninja import NinjaAPI

from daozhang.core.http import MerchantKeyAuth, StaffTokenAuth, install_error_handlers
from daozhang.merchants.api import router as merchant_router
from daozhang.merchants.api import staff_router as staff_merchants
from daozhang.merchants.ping import router as ping_router
from daozhang.payments.api import router as payments_router
from daozhang.settlement.api import router as settlement_router
from daozhang.settlement.api import staff_router as staff_settlement
from daozhang.terminals.api import staff_router as staff_terminals
from daozhang.tracing.api import router as tracing_router

api = NinjaAPI(
    title="daozhang 到账 API",
    version="1",
    description=(
        "Merchant calls authenticate with `Authorization: Bearer dzk_…` (a merchant API key); "
        "staff calls with `Bearer dzs_…`. Every state-changing call needs an `Idempotency-Key` "
        "header. Amounts are integer fen. Errors: `{\"error\": {code, field, message}}`, the "
        "message in zh-CN or English by `Accept-Language`."
    ),
    urls_namespace="api",
)
install_error_handlers(api)
api.add_router("/v1/", payments_router, auth=MerchantKeyAuth())
api.add_router("/v1/", merchant_router, auth=MerchantKeyAuth())
api.add_router("/v1/", tracing_router, auth=MerchantKeyAuth())
api.add_router("/v1/", settlement_router, auth=MerchantKeyAuth())
api.add_router("/v1/", ping_router, auth=MerchantKeyAuth())
api.add_router("/v1/staff/", staff_merchants, auth=StaffTokenAuth())
api.add_router("/v1/staff/", staff_terminals, auth=StaffTokenAuth())
api.add_router("/v1/staff/", staff_settlement, auth=StaffTokenAuth())
