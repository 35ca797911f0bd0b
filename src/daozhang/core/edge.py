"""The API's edge, as mechanisms rather than per-route code:

- `ApiEdgeMiddleware`: under `/api/`, a body larger than the limit is 413 and a body that
  is not JSON is 415, both before anything reads it; and every error answer under `/api/`
  (a 404 for an unknown route, a 405, a 500 raised outside the API's own handlers) is the
  JSON error shape `{"error": {code, field, message}}`, never an HTML page.
- `JsonObjectParser`: a request body is a JSON object, nothing else (`"abc"`, `[1, 2]` and
  `null` are refused naming the body); and no field of it holds a full card number
  (core.pan), but those the OpenAPI document declares to carry one (`x-daozhang-pan`: the
  sale's `card_number`, settlement account numbers): 400 `full_pan` naming the field,
  before the view runs, so nothing is written, not even the idempotency record.
- The middleware refuses a card number in a query string or the path the same way.
- (`access.api_auth.StaffPermission`: a staff endpoint's permission is checked in ninja's
  authentication step, before the body and parameters are parsed.)
- `document_contract`: the OpenAPI document states what these mechanisms enforce (the
  `Idempotency-Key` header on every POST, the error answers each operation can give);
  `core.contract` enforces what it states of query strings.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import Resolver404, resolve
from ninja.parser import Parser
from ninja.types import DictStrAny

from daozhang.core import pan
from daozhang.core.contract import declared_pan_fields
from daozhang.core.errors import DomainError, pick_language
from daozhang.core.inputs import IDEMPOTENCY_KEY_MAX

log = logging.getLogger("daozhang.api")

API_PREFIX = "/api/"
IDEMPOTENCY_KEY_PATTERN = f"^[\\x21-\\x7e]([\\x20-\\x7e]{{0,{IDEMPOTENCY_KEY_MAX - 2}}}[\\x21-\\x7e])?$"
IDEMPOTENCY_KEY_RE = re.compile(IDEMPOTENCY_KEY_PATTERN)
BODY_METHODS = {"POST", "PUT", "PATCH"}


def body_limit() -> int:
    """The largest request body the API reads, in bytes (Django's DATA_UPLOAD_MAX_MEMORY_SIZE)."""
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440)


def json_error(request: HttpRequest, err: DomainError, headers: dict[str, str] | None = None) -> HttpResponse:
    lang = pick_language(request.headers.get("Accept-Language"))
    resp = JsonResponse({"error": err.as_dict(lang)}, status=err.status, json_dumps_params={"ensure_ascii": False})
    for k, v in (headers or {}).items():
        resp[k] = v
    return resp


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _routed(request: HttpRequest) -> bool:
    """Whether a route answers the path (an unknown route is 404 whatever its body)."""
    try:
        resolve(request.path_info)
    except Resolver404:
        return False
    return True


class ApiEdgeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        refused = self._refuse_pan(request) or self._refuse_body(request)
        if refused is not None:
            return refused
        response = self.get_response(request)
        if response.status_code >= 400 and not _is_json(response.get("Content-Type", "")):
            return self._as_json(request, response)
        return response

    def _refuse_pan(self, request: HttpRequest) -> HttpResponse | None:
        """A card number in the path or a query parameter (a search box, a hand-made URL)
        is refused before it reaches a view, a log line or a stored export."""
        if pan.contains_pan(request.path):
            return json_error(request, pan.refused("path"))
        field = pan.find_in_pairs(request.GET.lists())
        return json_error(request, pan.refused(field)) if field is not None else None

    def _refuse_body(self, request: HttpRequest) -> HttpResponse | None:
        if request.method not in BODY_METHODS:
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(request, DomainError("invalid", "Content-Length"))
        if length > body_limit():
            return json_error(request, DomainError("payload_too_large", "body", {"limit": body_limit()}, 413))
        if length and not _is_json(request.META.get("CONTENT_TYPE", "")) and _routed(request):
            return json_error(request, DomainError("unsupported_media_type", "Content-Type", status=415))
        key = request.headers.get("Idempotency-Key")
        if key is not None and key.strip() and not IDEMPOTENCY_KEY_RE.fullmatch(key):
            # Printable ASCII, no blanks around, at most 120: what the OpenAPI document says
            # (the code is core.http.idempotent's for a key it cannot use).
            return json_error(request, DomainError("idempotency_key_missing", "Idempotency-Key"))
        return None

    def _as_json(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        status = response.status_code
        if status == 404:
            return json_error(request, DomainError("not_found", None, status=404))
        if status == 405:
            allowed = response.get("Allow", "")
            return json_error(request, DomainError("method_not_allowed", None, {"allowed": allowed or "-"}, 405),
                              {"Allow": allowed} if allowed else None)
        if status == 413:
            return json_error(request, DomainError("payload_too_large", "body", {"limit": body_limit()}, 413))
        if status == 415:
            return json_error(request, DomainError("unsupported_media_type", "Content-Type", status=415))
        if status >= 500:
            ref = uuid.uuid4().hex[:12]
            log.error("non-JSON %s answer under the API ref=%s path=%s", status, ref, request.path)
            return json_error(request, DomainError("internal", None, {"ref": ref}, status))
        code = {401: "unauthenticated", 403: "forbidden"}.get(status, "invalid")
        return json_error(request, DomainError(code, None, status=status))


def checked_stream(chunks: Iterator[str | bytes], content_type: str, filename: str) -> StreamingHttpResponse:
    """A streamed download that has started before its first byte is sent: the header
    and the first row are produced here (the query runs), so bad input or a failing query
    is an error answer, never a 200 whose file stops half way."""
    it = iter(chunks)
    head = list(itertools.islice(it, 2))
    resp = StreamingHttpResponse(itertools.chain(head, it), content_type=content_type)
    resp["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


class JsonObjectParser(Parser):
    """Request bodies are JSON objects."""

    def parse_body(self, request: HttpRequest) -> DictStrAny:
        try:
            data = json.loads(request.body)
        except ValueError as exc:
            raise DomainError("invalid_json", "body") from exc
        if not isinstance(data, dict):
            raise DomainError("not_an_object", "body")
        field = pan.find_in(data, exempt=declared_pan_fields(request))
        if field is not None:
            raise pan.refused(field)
        return data


# -------------------------------------------------------------------------- OpenAPI

_ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
_WHY = {
    400: "Bad input: the field and the reason in `error` / 输入有误",
    401: "Missing or unknown credentials / 未认证",
    403: "The staff user lacks the permission / 无权限",
    404: "Not found / 未找到",
    405: "Method not allowed / 不支持的请求方法",
    409: "Conflicts with the current state, or `request_in_progress` under the same Idempotency-Key / 状态冲突",
    413: "Request body over the size limit / 请求内容过大",
    415: "Request body is not JSON / 请求内容须为 JSON",
    422: "`idempotency_key_reused`: the Idempotency-Key was used with another request / 幂等键已用于其他请求",
    503: "A channel or the bank is unavailable; nothing was done / 通道暂不可用",
}


def document_contract(schema: dict[str, Any]) -> dict[str, Any]:
    """Add what the edge enforces to every operation of an OpenAPI document."""
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            statuses = {400, 401, 404}
            if "/staff/" in path:
                statuses.add(403)
            if method == "post":
                statuses |= {409, 413, 415, 422}
                params = op.setdefault("parameters", [])
                if not any(p.get("in") == "header" and p.get("name") == "Idempotency-Key" for p in params):
                    params.append({
                        "in": "header", "name": "Idempotency-Key", "required": True,
                        "description": "One key per intended change; a replay gets the first answer "
                                       "(幂等键：同一键重放返回首次结果)",
                        "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX,
                                   "pattern": IDEMPOTENCY_KEY_PATTERN},
                    })
            responses = op["responses"]  # ninja keys them by int
            for status in sorted(statuses):
                if status not in responses and str(status) not in responses:
                    responses[status] = {
                        "description": _WHY[status],
                        "content": {"application/json": {"schema": _ERROR_REF}},
                    }
            for status, answer in responses.items():
                if int(status) >= 400 and isinstance(answer, dict):
                    answer["description"] = _WHY.get(int(status), answer.get("description", ""))
    return schema
