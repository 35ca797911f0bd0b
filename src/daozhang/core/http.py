"""What every API call shares: credentials, the error format and idempotent replays."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from daozhang.core.errors import CATALOGUE, DomainError, pick_language
from daozhang.core.ids import PLATFORM_ID
from daozhang.core.once import Claim, once
from daozhang.core.once import Request as OnceRequest

log = logging.getLogger("daozhang.api")


class ErrorBody(Schema):
    code: str
    field: str | None
    message: str


class ErrorOut(Schema):
    """The one error shape of the API: `{"error": {code, field, message}}`."""

    error: ErrorBody


# The error answers a route declares (core.edge.document_contract adds the ones every
# operation can give, such as 413 and 415 on a POST).
ERRORS: dict[int, type[Schema]] = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
STAFF_ERRORS: dict[int, type[Schema]] = {**ERRORS, 403: ErrorOut}


def lang(request: HttpRequest) -> str:
    return pick_language(request.headers.get("Accept-Language"))


def error_response(api: NinjaAPI, request: HttpRequest, err: DomainError) -> HttpResponse:
    return api.create_response(request, {"error": err.as_dict(lang(request))}, status=err.status)


def _field_of(loc: list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "payload", "filters")]
    return ".".join(parts) or "body"


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def _domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return error_response(api, request, exc)

    @api.exception_handler(NinjaValidationError)
    def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        # Never echo the input back: it may hold a card number.
        first = exc.errors[0] if exc.errors else {}
        field = _field_of(list(first.get("loc", [])))
        kind = str(first.get("type", ""))
        params: dict[str, Any] = {}
        if kind in CATALOGUE:  # the input types of core.inputs name their reason as the error type
            code, params = kind, dict(first.get("ctx") or {})
        elif kind == "missing":
            code = "required"
        elif kind.startswith("json"):
            code = "invalid_json"
        elif field.split(".")[-1] in ("amount", "amount_min", "amount_max"):
            code = "not_integer_fen"
        elif kind in ("model_type", "dict_type", "model_attributes_type"):
            code = "not_an_object"
        else:
            code = "invalid"
        return error_response(api, request, DomainError(code, field, params, status=400))

    @api.exception_handler(AuthenticationError)
    def _unauth(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error_response(api, request, DomainError("unauthenticated", "Authorization", status=401))

    @api.exception_handler(HttpError)
    def _http(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if isinstance(exc.__cause__, DomainError):  # the body parser's own reason
            return error_response(api, request, exc.__cause__)
        if exc.status_code == 400 and "parse request body" in exc.message:
            return error_response(api, request, DomainError("invalid_json", "body", status=400))
        code = "not_found" if exc.status_code == 404 else "invalid"
        return error_response(api, request, DomainError(code, None, status=exc.status_code))

    @api.exception_handler(Exception)
    def _internal(request: HttpRequest, exc: Exception) -> HttpResponse:
        if isinstance(exc, ValueError) and "NUL (0x00)" in str(exc):
            # PostgreSQL cannot store NUL in text; nothing was written.
            return error_response(api, request, DomainError("invalid", None, status=400))
        if isinstance(exc, RequestDataTooBig):
            return error_response(api, request, DomainError(
                "payload_too_large", "body", {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}, 413))
        if _out_of_range(exc):
            # A number the database cannot hold (PostgreSQL "bigint out of range", SQLite
            # "integer overflow" or the ledger's 64-bit guard): the transaction was rolled
            # back, so nothing was written.
            return error_response(api, request, DomainError("out_of_range", None, status=400))
        ref = uuid.uuid4().hex[:12]
        log.exception("unhandled error ref=%s path=%s", ref, request.path)
        return error_response(api, request, DomainError("internal", None, {"ref": ref}, 500))


def _out_of_range(exc: BaseException) -> bool:
    if not isinstance(exc, DatabaseError | OverflowError):
        return False
    text = str(exc).lower()
    return isinstance(exc, OverflowError) or any(
        s in text for s in ("out of range", "integer overflow", "ledger_out_of_range"))


def idempotent(request: HttpRequest, scope: str, run: Callable[[], tuple[int, Any]],
               redact: tuple[str, ...] = ()) -> HttpResponse:
    """Run a state-changing call once per Idempotency-Key (`core.once`): the key is claimed
    first, a replay gets the first answer, another request under a used key is refused,
    and `run` runs in a transaction that also records its answer. Fields in `redact` are
    not kept for replays."""
    status, body, _ = once(_once_request(request, scope, redact), lambda _claim: run())
    return _answer(status, body)


def idempotent_booking(request: HttpRequest, scope: str, run: Callable[[Claim], Any],
                       render: Callable[[Any], tuple[int, Any]], *, reads_stored: bool = False) -> HttpResponse:
    """`idempotent` for a call that reaches a channel before it books: `run` (the service
    call, given the `Claim`) runs outside any transaction of ours, the key stays claimed
    across the channel call, and the service records `render(result)` in its booking
    transaction. With `reads_stored` the service also looks up the stored answer, in a
    query of its own (`core.once`)."""

    def booked(claim: Claim) -> tuple[int, Any]:
        result = run(claim)
        return claim.answer or render(result)  # rendered once, where it was recorded

    status, body, _ = once(_once_request(request, scope, ()), booked, books_outside_transaction=True,
                           change_reads_stored=reads_stored, render=render)
    return _answer(status, body)


def _answer(status: int, body: Any) -> HttpResponse:
    """The answer as it was recorded: a replay gets the same bytes as the first answer, and
    a body already made by its schema is not validated by it a second time."""
    return HttpResponse(json.dumps(body, cls=DjangoJSONEncoder), status=status,
                        content_type="application/json; charset=utf-8")


def _once_request(request: HttpRequest, scope: str, redact: tuple[str, ...]) -> OnceRequest:
    key = idempotency_key(request)
    if not key or len(key) > 120:
        raise DomainError("idempotency_key_missing", "Idempotency-Key")
    # Keyed: the body may hold a card number, and an unkeyed hash of it could be brute-forced
    # back from the six hidden digits of the masked number stored beside it.
    digest = hmac.new(settings.SECRET_KEY.encode(), request.method.encode() + request.path.encode()  # type: ignore[union-attr]
                      + request.body, hashlib.sha256).hexdigest()
    merchant = getattr(request, "merchant", None)
    return OnceRequest(merchant_id=merchant.id if merchant is not None else PLATFORM_ID, scope=scope, key=key,
                       fingerprint=digest, field="Idempotency-Key", redact=redact)


def idempotency_key(request: HttpRequest) -> str:
    return (request.headers.get("Idempotency-Key") or "").strip()
