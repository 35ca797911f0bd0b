"""The published API surface does not move by accident.

`api_contract_paths.json` lists every operation of the OpenAPI document — method, path,
operationId and tags — as clients are generated from it (and as test_api_race and the
schemathesis test find the endpoints). A refactor that drops, renames or re-tags an
endpoint, or lets an operationId follow a module that moved, fails here.

Adding or changing an endpoint on purpose: regenerate the list and review its diff,

    DJANGO_SETTINGS_MODULE=daozhang.settings .venv/bin/python -m tests.api.test_api_contract
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).with_name("api_contract_paths.json")


def operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    ops = [{"method": method.upper(), "path": path, "operationId": op["operationId"], "tags": op.get("tags", [])}
           for path, item in doc["paths"].items() for method, op in item.items() if isinstance(op, dict)]
    return sorted(ops, key=lambda o: (o["path"], o["method"]))


def _keyed(ops: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[str, tuple[str, ...]]]:
    return {(o["method"], o["path"]): (o["operationId"], tuple(o["tags"])) for o in ops}


def test_the_openapi_operations_are_the_published_ones():
    from daozhang.api import api

    served = _keyed(operations(api.get_openapi_schema()))
    published = _keyed(json.loads(FIXTURE.read_text(encoding="utf-8")))
    missing = sorted(set(published) - set(served))
    added = sorted(set(served) - set(published))
    changed = sorted((k, published[k], served[k]) for k in set(served) & set(published) if served[k] != published[k])
    assert not missing, f"operations gone from the document: {missing}"
    assert not added, f"operations not in {FIXTURE.name} (regenerate it if on purpose): {added}"
    assert not changed, f"operationId or tags changed (published → served): {changed}"


def test_operation_ids_are_unique():
    ids = [o["operationId"] for o in json.loads(FIXTURE.read_text(encoding="utf-8"))]
    assert len(ids) == len(set(ids))


if __name__ == "__main__":  # regenerate the fixture from the document as served now
    import django

    django.setup()
    from daozhang.api import api

    FIXTURE.write_text(json.dumps(operations(api.get_openapi_schema()), indent=1, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    print(f"wrote {FIXTURE}")
