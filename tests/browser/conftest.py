"""Browser tests: Playwright for Python driving Debian's Chromium (/usr/bin/chromium,
installed by `make test`), never a downloaded browser, against pytest-django's live
server on the test database. Each step's screenshot is saved under
test-output/browser/<test name>/ so a reviewer can look at what the user saw.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
# still plain synchronous calls, which Django would otherwise refuse beside a loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("DAOZHANG_CHROMIUM", "/usr/bin/chromium")
OUTPUT = Path(os.environ.get("DAOZHANG_TEST_OUTPUT", "test-output")) / "browser"
PHONE = {"width": 390, "height": 844}  # a common phone's CSS pixels


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's Chromium is missing at {CHROMIUM}: run `make test` (it installs it) "
                    "or apt-get install -y chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


class Shots:
    """Numbered screenshots of each step of one test."""

    def __init__(self, name: str) -> None:
        self.dir = OUTPUT / re.sub(r"[^\w.-]+", "_", name)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.n = 0

    def __call__(self, page: object, step: str) -> Path:
        self.n += 1
        path = self.dir / f"{self.n:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)


@pytest.fixture
def phone_page(browser, live_server):  # type: ignore[no-untyped-def]
    """A fresh browser context at phone width, Chinese locale, downloads allowed."""
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN", accept_downloads=True,
                              base_url=live_server.url)
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    yield page
    ctx.close()


UNLABELLED_JS = """() => {
  const named = el => (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
                       || (el.labels && el.labels.length) || (el.textContent || '').trim() || el.title);
  const bad = [];
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a[href]')) {
    if (!named(el)) bad.push(el.outerHTML.slice(0, 120));
  }
  for (const el of document.querySelectorAll('svg[role=img]')) {
    if (!el.querySelector('title') && !el.getAttribute('aria-label')) bad.push('svg without a title');
  }
  if (!document.documentElement.lang) bad.push('html without lang');
  if (!document.querySelector('main')) bad.push('no main landmark');
  return bad;
}"""


_AXE = Axe()
# WCAG 2.1 A and AA, as axe-core checks them (colour contrast included).
_AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
                "resultTypes": ["violations"]}


def assert_usable(page: object) -> None:
    """What a screen-reader user and a phone user need on every page: no WCAG 2.1 A/AA
    violation axe-core can find (names, contrast, language, structure), every control
    named, a main landmark, nothing wider than the screen."""
    found = _AXE.run(page, options=_AXE_OPTIONS).response["violations"]
    assert found == [], [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:5]) for v in found]
    unlabelled = page.evaluate(UNLABELLED_JS)  # type: ignore[attr-defined]
    assert unlabelled == [], unlabelled
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (  # type: ignore[attr-defined]
        "page wider than the screen")


def sign_in(page, username: str, password: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Fill the sign-in page as a user would (the page the portal and the console share)."""
    from tests.portal_helpers import PASSWORD

    page.goto("/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password or PASSWORD)
    page.get_by_role("button", name="登录").click()


def sign_out(page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", name="登录到账")).to_be_visible()
