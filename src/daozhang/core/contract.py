"""What the OpenAPI document states of query strings, enforced: a parameter an operation
does not take (`date_form=` for `date_from=`, `sttaus=`) is refused with its name, not
silently ignored into an unfiltered answer or export.

The document is the contract clients are generated from, so it is also the rule: the face
that builds it hands it over (`read_contract_from`), and every credential check calls
`refuse_unknown_query` once the caller is known (and, for staff, once the permission is
checked), so the answer to a caller without the right is still 401 or 403.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from daozhang.core.errors import DomainError
from daozhang.core.pan import SCHEMA_KEY

_Rule = tuple[int, "re.Pattern[str]", str, frozenset[str], frozenset[str]]
_source: Callable[[], dict[str, Any]] | None = None
_rules: list[_Rule] | None = None


def read_contract_from(source: Callable[[], dict[str, Any]]) -> None:
    """Enforce the query parameters of the document `source` returns (read once, lazily)."""
    global _source, _rules
    _source, _rules = source, None


def _all_rules() -> list[_Rule]:
    global _rules
    if _rules is None:
        rules = []
        doc = _source() if _source else {}
        for path, item in doc.get("paths", {}).items():
            pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")
            for method, op in item.items():
                if isinstance(op, dict):
                    names = frozenset(p["name"] for p in op.get("parameters", []) if p.get("in") == "query")
                    rules.append((path.count("{"), pattern, method.upper(), names, _pan_fields(doc, op)))
        _rules = sorted(rules, key=lambda r: r[0])  # a literal route before a template that also matches
    return _rules


def _pan_fields(doc: dict[str, Any], op: dict[str, Any]) -> frozenset[str]:
    """The body fields the document declares to carry a card or account number (core.pan:
    `x-daozhang-pan` on the property), as dotted paths (`bank_account.account_number`)."""
    schemas = doc.get("components", {}).get("schemas", {})
    found: set[str] = set()

    def walk(schema: Any, path: str, depth: int) -> None:
        if not isinstance(schema, dict) or depth > 8:
            return
        ref = schema.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            walk(schemas.get(ref.rsplit("/", 1)[1]), path, depth + 1)
        if schema.get(SCHEMA_KEY) and path:
            found.add(path)
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in schema.get(key, []):
                walk(sub, path, depth + 1)
        for name, sub in schema.get("properties", {}).items():
            walk(sub, f"{path}.{name}" if path else name, depth + 1)
        if "items" in schema:
            walk(schema["items"], path, depth + 1)

    media = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    walk(media.get("schema"), "", 0)
    return frozenset(found)


def _rule_for(request: HttpRequest) -> _Rule | None:
    for rule in _all_rules():
        if rule[2] == request.method and rule[1].match(request.path):
            return rule
    return None


def declared_pan_fields(request: HttpRequest) -> frozenset[str]:
    """The body fields of the request's operation declared to carry a card or account number."""
    rule = _rule_for(request)
    return rule[4] if rule is not None else frozenset()


def refuse_unknown_query(request: HttpRequest) -> None:
    """Raise 400 `unknown_parameter` naming the first query parameter the operation does not take."""
    if not request.GET:
        return
    for _, pattern, method, names, _pan in _all_rules():
        if method == request.method and pattern.match(request.path):
            unknown = next((k for k in request.GET if k not in names), None)
            if unknown is not None:
                raise DomainError("unknown_parameter", "".join(c for c in unknown if c.isprintable())[:60] or "?")
            return
