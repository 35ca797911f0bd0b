"""The API keeps the contract its OpenAPI document states, checked by schemathesis.

Every operation of /api/openapi.json gets generated requests, valid and invalid, a bounded
number each, sent over HTTP to a live server (pytest-django's `live_server`: the whole
Django stack, middleware included, on the test database of this run: SQLite or
PostgreSQL), the document itself read from that server, with a merchant key `dzk_…` for merchant operations and
the token `dzs_…` of a staff user with every permission for staff operations. Every check
this schemathesis version has runs on every answer: no 5xx, documented status codes,
content types, headers and bodies, invalid data refused, valid data not refused with a
status the schema does not explain, auth not ignored, required headers required, 405s
with an Allow header that matches the document.

One allowance: valid-by-schema data may answer 400, because some rules cannot be written
in JSON Schema (a card number's Luhn digit, a USCC's check character, a date like
2026-02-30 that matches the date pattern, an unknown fee plan). Such a 400 still has to
name the field and be documented, which the other checks hold it to.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, settings

from daozhang.access.services import issue_staff_token
from daozhang.api import api

MAX_EXAMPLES = 12

config = schemathesis.Config.from_dict({
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES},
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422"]},
    },
})


# The document the server serves at /api/openapi.json (test_api_race checks they are the
# same), read here so pytest can name a test per operation.
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(), config=config)


@pytest.fixture
def live(live_server: Any, transactional_db: None, settings: Any, make_merchant: Any) -> dict[str, str]:
    settings.ALLOWED_HOSTS = ["*"]
    kit = make_merchant()
    user = get_user_model().objects.create_superuser("schema-boss", "s@example.com", None)
    _, staff_token = issue_staff_token(user=user, name="schemathesis")
    return {"url": live_server.url, "merchant": kit.api_key, "staff": staff_token}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_keeps_its_openapi_contract(case: Any, live: dict[str, str]) -> None:
    who = "staff" if "/staff/" in case.operation.path else "merchant"
    case.call_and_validate(base_url=live["url"], headers={"Authorization": f"Bearer {live[who]}"})
