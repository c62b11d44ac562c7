"""Browser fixtures: Debian's Chromium driven by Playwright, against pytest-django's live server.

- `browser`: one headless Chromium for the browser tests.
- `page` (1280×800) and `phone_page` (390×844, touch): a fresh context each. A request to
  any host but the live server's is aborted; it, a console error or an uncaught page error
  fails the test, with the list.
- `logged_in`: `page`, logged in as `owner` through the log-in form.

Helpers (log_in, submit_login_form, save_screenshot) are in tests/browser/helpers.py.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, sync_playwright
from pytest_django.live_server_helper import LiveServer

from tests.browser.helpers import DESKTOP, PHONE, PageWatch, chromium_executable, log_in, watched_page

_WATCHES = pytest.StashKey[list[PageWatch]]()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Headless Chromium, shared by the browser tests and closed after the last of them.

    Package-scoped rather than session-scoped: while Playwright's sync API runs, the main
    thread has a running asyncio loop, which the rest of the suite must not inherit.
    """
    executable = chromium_executable()
    # That running loop makes Django refuse the ORM in the test thread ("async context").
    # The tests are synchronous, so lift the check while the browser runs, and only then.
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            # Chromium's sandbox refuses to run as root.
            args=["--no-sandbox"] if os.geteuid() == 0 else [],
        )
        try:
            yield launched
        finally:
            launched.close()
    finally:
        playwright.stop()
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


def _page(browser: Browser, request: pytest.FixtureRequest, **context_options: Any) -> Iterator[Page]:
    with watched_page(browser, request.fixturename or "page", **context_options) as (opened, watch):
        request.node.stash.setdefault(_WATCHES, []).append(watch)
        yield opened
    # Anything the call phase did not already report (e.g. when the test failed first).
    watch.fail_if_any()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A desktop-sized page (1280×800) in a fresh context, watched (see the module's docstring)."""
    yield from _page(browser, request, **DESKTOP)


@pytest.fixture
def phone_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A phone-sized page (390×844, mobile, touch) in a fresh context, watched like `page`."""
    yield from _page(browser, request, **PHONE)


@pytest.fixture
def logged_in(page: Page, live_server: LiveServer, owner: User) -> Page:
    """`page`, logged in as `owner` through the log-in form and now on the page it lands on."""
    return log_in(page, live_server.url, owner)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    # Checked after the test body, so that a page's problems fail the test itself
    # rather than show up as an error in its teardown.
    result = yield
    for watch in item.stash.get(_WATCHES, []):
        watch.fail_if_any()
    return result
