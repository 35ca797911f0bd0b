"""Issue 11, items 1 and 9: a process started in production mode on secrets anyone can know
(the embedded defaults, a key derived from another, none at all) refuses to start naming
each setting and how to make it; so do the demo, the sandbox bank and the sandbox channels
(a pilot flag allows the channels, with a warning at every start); a documented production
configuration passes `check --deploy`; a production server sends CSP, HSTS, Secure cookies
and no-store, and does not answer to `testserver`; the SQLite file is created 0600.

The processes get a clean environment (only what is set here), not the test run's
(which is development mode: daozhang.testing.pytest_pg).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core import checks

from daozhang.core.checks import derived_field_key

SECRETS = ("DAOZHANG_SECRET_KEY", "DAOZHANG_PAN_TOKEN_KEY", "DAOZHANG_FIELD_KEYS")
REAL_CHANNELS = {  # what an operator names: its own adapters (never imported by the checks)
    "DAOZHANG_CHANNEL_CARD": "acquirer_adapters.unionpay.Network",
    "DAOZHANG_CHANNEL_WECHAT": "acquirer_adapters.wechat.Network",
    "DAOZHANG_CHANNEL_ALIPAY": "acquirer_adapters.alipay.Network",
    "DAOZHANG_SMS_PROVIDER": "acquirer_adapters.sms.Gateway",
    "DAOZHANG_SMTP_HOST": "smtp.example.com",
}


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A process environment with nothing of the test run's: production mode by default."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "DAOZHANG_HOME": str(tmp_path)}
    env.update(extra)
    return env


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The production configuration of docs/operations.md#production: own secrets, the file
    bank, real channel adapters, TLS at the proxy."""
    outbox = tmp_path / "bank" / "outbox"
    sent = tmp_path / "bank" / "outbox-sent"
    outbox.mkdir(parents=True, exist_ok=True)
    sent.mkdir(parents=True, exist_ok=True)
    env = clean_env(
        tmp_path,
        DAOZHANG_MODE="production",
        DAOZHANG_SECRET_KEY="s" + os.urandom(40).hex(),
        DAOZHANG_PAN_TOKEN_KEY="p" + os.urandom(32).hex(),
        DAOZHANG_FIELD_KEYS=Fernet.generate_key().decode(),
        DAOZHANG_ALLOWED_HOSTS="pay.example.com",
        DAOZHANG_BANK="daozhang.channels.file_bank.FileBank",
        DAOZHANG_BANK_OUTBOX=str(outbox),
        **REAL_CHANNELS,
    )
    env.update(extra)
    return env


def daozhang(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "daozhang.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=env["DAOZHANG_HOME"])


# -- item 1: no process starts on a default secret ------------------------------------------

@pytest.mark.one_database
@pytest.mark.parametrize("command", [
    ["serve", "--port", "0"], ["worker"], ["settle", "--date", "2026-11-02", "--quiet"],
    ["payouts", "run", "--quiet"], ["migrate", "--no-input"], ["rotate_field_keys"], ["ledger", "check"],
])
def test_a_process_started_in_production_on_default_secrets_exits_naming_each(tmp_path, command):
    done = daozhang(clean_env(tmp_path), *command)  # DAOZHANG_MODE unset: production
    assert done.returncode != 0
    for name in SECRETS:
        assert name in done.stderr, (name, done.stderr)
    assert "secrets.token_urlsafe" in done.stderr and "Fernet.generate_key()" in done.stderr  # how to make one


@pytest.mark.one_database
def test_a_bare_wsgi_server_refuses_the_default_secrets_too(tmp_path):
    env = clean_env(tmp_path, DJANGO_SETTINGS_MODULE="daozhang.settings")
    done = subprocess.run([sys.executable, "-c", "import daozhang.wsgi"], env=env, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode != 0
    assert "refusing to start" in done.stderr and "DAOZHANG_SECRET_KEY" in done.stderr


@pytest.mark.one_database
def test_development_mode_runs_on_the_embedded_values(tmp_path):
    done = daozhang(clean_env(tmp_path, DAOZHANG_MODE="development"), "check")
    assert done.returncode == 0, done.stderr


def _run_checks(settings: Any, **overrides: Any) -> dict[str, list[str]]:
    """The daozhang checks under production settings with these overrides: id → messages."""
    settings.DAOZHANG_MODE = "production"
    settings.DEBUG = False
    settings.SECRET_KEY = "k" * 30 + os.urandom(20).hex()
    settings.PAN_TOKEN_KEY = os.urandom(24).hex()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    for key, value in overrides.items():
        setattr(settings, key, value)
    found: dict[str, list[str]] = {}
    for m in checks.run_checks(tags=["daozhang"]):
        found.setdefault(m.id or "", []).append(f"{m.msg} {m.hint}")
    return found


def test_a_field_key_derived_from_the_secret_key_is_refused(settings):
    secret = "x" * 10 + os.urandom(30).hex()
    found = _run_checks(settings, SECRET_KEY=secret, FIELD_ENCRYPTION_KEYS=[derived_field_key(secret)])
    assert "derived from DAOZHANG_SECRET_KEY" in " ".join(found["daozhang.E004"])


def test_a_pan_token_key_equal_to_the_secret_key_or_a_weak_secret_is_refused(settings):
    found = _run_checks(settings, PAN_TOKEN_KEY="ab" * 30, SECRET_KEY="ab" * 30)
    assert "the same as DAOZHANG_SECRET_KEY" in " ".join(found["daozhang.E003"])
    assert "too short or too plain" in " ".join(found["daozhang.E002"])  # 2 distinct characters


def test_a_field_key_that_is_not_a_fernet_key_is_refused_and_an_old_default_only_warned_after_the_new(settings):
    from django.conf import settings as live

    found = _run_checks(settings, FIELD_ENCRYPTION_KEYS=["not-a-key"])
    assert "not a Fernet key" in " ".join(found["daozhang.E004"])
    found = _run_checks(settings, FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode(), live.DEV_FIELD_KEY])
    assert "daozhang.E004" not in found and "daozhang.W004" in found  # mid-rotation: drop it after rotate
    found = _run_checks(settings, FIELD_ENCRYPTION_KEYS=[live.DEV_FIELD_KEY])
    assert "daozhang.E004" in found


def test_an_unknown_mode_or_debug_in_production_is_refused(settings):
    assert "daozhang.E001" in _run_checks(settings, DAOZHANG_MODE="prod")
    assert "daozhang.E005" in _run_checks(settings, DEBUG=True)


# -- item 1: demo, sandbox bank, sandbox channels -----------------------------------------

@pytest.mark.one_database
def test_the_demo_is_refused_in_production(tmp_path):
    env = production_env(tmp_path)
    assert daozhang(env, "migrate", "--no-input").returncode == 0
    done = daozhang(env, "demo", "--days", "1")
    assert done.returncode != 0 and "daozhang.E020" in done.stderr
    assert "demo: " not in done.stdout  # nothing was loaded


@pytest.mark.one_database
def test_the_sandbox_bank_and_channels_are_refused_in_production_and_the_pilot_flag_warns_at_every_start(tmp_path):
    env = production_env(tmp_path)
    for name in REAL_CHANNELS:
        del env[name]
    sandbox_bank = {**env, "DAOZHANG_BANK": "daozhang.channels.sandbox_bank.SandboxBank"}
    done = daozhang(sandbox_bank, "check")
    assert done.returncode != 0
    assert "daozhang.E010" in done.stderr and "DAOZHANG_BANK" in done.stderr
    assert done.stderr.count("daozhang.E011") == 3
    assert done.stderr.count("daozhang.E013") == 2  # the sandbox SMS and e-mail: codes would reach no one
    assert all(name in done.stderr for name in REAL_CHANNELS if "CHANNEL" in name)
    assert "DAOZHANG_SMS_PROVIDER" in done.stderr and "DAOZHANG_EMAIL_PROVIDER" in done.stderr

    pilot = {**env, "DAOZHANG_PILOT_SANDBOX_CHANNELS": "1", "DAOZHANG_PILOT_SANDBOX_MESSAGES": "1"}
    for command in (["check"], ["migrate", "--no-input"], ["payouts", "run", "--quiet"]):
        done = daozhang(pilot, *command)
        assert done.returncode == 0, done.stderr
        assert "daozhang.W011" in done.stderr and "Pilot" in done.stderr, command
        assert done.stderr.count("daozhang.W013") == 2, command
    # The pilot flag never allows the sandbox bank.
    done = daozhang({**pilot, "DAOZHANG_BANK": "daozhang.channels.sandbox_bank.SandboxBank"}, "check")
    assert done.returncode != 0 and "daozhang.E010" in done.stderr


@pytest.mark.one_database
def test_the_file_bank_needs_its_directories(tmp_path):
    env = production_env(tmp_path, DAOZHANG_BANK_OUTBOX=str(tmp_path / "missing"))
    done = daozhang(env, "check")
    assert done.returncode != 0 and "daozhang.E012" in done.stderr and "mkdir -p" in done.stderr


# -- item 1 and 9: the documented production configuration ------------------------------

@pytest.mark.one_database
def test_check_deploy_is_clean_on_the_documented_production_configuration(tmp_path):
    done = daozhang(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout, done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers={"Host": "pay.example.com", **headers})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()


def test_a_production_server_sends_csp_hsts_secure_cookies_and_no_store(child_env, tmp_path):
    port = _free_port()
    env = production_env(tmp_path, DATABASE_URL=child_env["DATABASE_URL"], DAOZHANG_PORT=str(port),
                         DAOZHANG_WEB_WORKERS="1", DAOZHANG_WEB_THREADS="2")
    server = subprocess.Popen([sys.executable, "-m", "daozhang.cli", "serve"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # wait for the port, not a time: the loop ends as soon as it answers
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                if server.poll() is not None:
                    raise AssertionError(server.stderr.read().decode() if server.stderr else "") from None
                time.sleep(0.1)
        https = {"X-Forwarded-Proto": "https"}
        status, headers, _ = _get(f"{base}/login/")  # plain HTTP through the proxy: sent to HTTPS
        assert status == 301 and headers["location"] == "https://pay.example.com/login/"
        status, headers, _ = _get(f"{base}/login/", **https)
        assert status == 200
        csp = headers["content-security-policy"]
        assert "unsafe-eval" not in csp and "unsafe-inline" not in csp and "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["strict-transport-security"].startswith("max-age=31536000")
        assert "no-store" in headers["cache-control"]
        assert "Secure" in headers["set-cookie"] and "csrftoken" in headers["set-cookie"]
        status, headers, _ = _get(f"{base}/api/v1/balance", **https)  # an API answer, refused
        assert status == 401 and "no-store" in headers["cache-control"] and "content-security-policy" in headers
        status, headers, _ = _get(f"{base}/static/web/app.css", **https)  # static files stay cacheable
        assert status == 200 and "no-store" not in headers.get("cache-control", "")
        status, _, _ = _get(f"{base}/login/", Host="testserver", **https)
        assert status == 400  # `testserver` is not an allowed host outside tests
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_portal_and_console_pages_are_not_stored_and_carry_the_csp(merchant_kit, client):
    from django.contrib.auth import get_user_model

    from tests.portal_helpers import logged_in, portal_user

    portal = logged_in(portal_user(merchant_kit.merchant.id, "owner-csp"))
    response = portal.get("/portal/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "unsafe-eval" not in response["Content-Security-Policy"]
    get_user_model().objects.create_superuser("csp-boss", "b@example.com", "x-very-long-pw-1")
    client.force_login(get_user_model().objects.get(username="csp-boss"))
    response = client.get("/console/")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert b'"allowEval": false' in response.content  # htmx's eval is off under the CSP


# -- item 9: the SQLite file --------------------------------------------------------------

@pytest.mark.one_database
def test_the_sqlite_database_and_its_wal_files_are_created_0600(tmp_path):
    old = os.umask(0o022)  # the usual umask: files world-readable unless made otherwise
    try:
        env = clean_env(tmp_path, DAOZHANG_MODE="development")
        done = subprocess.run([sys.executable, "-m", "daozhang.cli", "migrate", "--no-input"], env=env,
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        done = subprocess.run([sys.executable, "-c", _KEEP_OPEN], env=env, capture_output=True, text=True,
                              timeout=120, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        modes = dict(line.split() for line in done.stdout.split("\n") if line)
    finally:
        os.umask(old)
    assert set(modes) >= {"daozhang.sqlite3", "daozhang.sqlite3-wal", "daozhang.sqlite3-shm"}
    assert all(mode == "0o600" for mode in modes.values()), modes


# A process that writes (so the -wal and -shm files exist) and lists the files' modes while open.
_KEEP_OPEN = """
import os, stat, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "daozhang.settings")
django.setup()
from django.db import connection
with connection.cursor() as cur:
    cur.execute("CREATE TABLE IF NOT EXISTS t_mode (x int)")
    cur.execute("INSERT INTO t_mode VALUES (1)")
var = os.path.join(os.environ["DAOZHANG_HOME"], "var")
for name in sorted(os.listdir(var)):
    if name.startswith("daozhang.sqlite3"):
        print(name, oct(stat.S_IMODE(os.stat(os.path.join(var, name)).st_mode)))
"""


def test_the_page_head_carries_the_htmx_config_and_no_stray_text(client):
    """base.html's note on htmx under the CSP is a template comment, not page text."""
    html = client.get("/login/").content.decode()
    assert "htmx-config" in html and "Content-Security-Policy" not in html and "{#" not in html
