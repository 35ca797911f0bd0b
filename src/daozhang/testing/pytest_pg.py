"""pytest plugin: development mode; with DAOZHANG_TEST_DB=postgres, run the suite on a throw-away server;
otherwise keep the SQLite test database in a temporary file that child processes can open.

Loaded with `-p daozhang.testing.pytest_pg` so it runs before pytest-django reads the
settings: the server is started and DATABASE_URL set at import, and stopped when pytest
ends, on failure too.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

from daozhang.testing import pgserver

# The suite runs in development mode (the embedded secrets, the sandboxes); the processes it
# starts inherit it. Tests of production mode set DAOZHANG_MODE=production for their own
# process or settings (tests/core/test_production_mode.py).
os.environ["DAOZHANG_MODE"] = "development"

_server = None
if os.environ.get("DAOZHANG_TEST_DB") == "postgres" and not os.environ.get("DATABASE_URL"):
    _server = pgserver.start(durable=False)
    os.environ["DATABASE_URL"] = _server.url
    atexit.register(_server.stop)
elif not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    _tmp = tempfile.mkdtemp(prefix="daozhang-test-")
    os.environ.setdefault("DAOZHANG_TEST_SQLITE_FILE", os.path.join(_tmp, "test.sqlite3"))
    atexit.register(shutil.rmtree, _tmp, True)


def pytest_report_header() -> str:
    return f"database: {os.environ.get('DATABASE_URL', 'sqlite (embedded default)')}"


def pytest_configure() -> None:
    # `testserver` (the host of Django's test client) is allowed only in the test process:
    # settings never list it. Django's test runner adds it for the tests themselves; this
    # also covers the client used at collection time (tests/api/test_api_race.py).
    from django.conf import settings

    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
