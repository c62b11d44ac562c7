"""Helpers for the browser tests: a watched page, logging in, screenshots.

The browser is Debian's `chromium` (Playwright cannot download its own build here),
or the executable CHROMIUM names. `make test` installs chromium when it is missing
(tests/browser/ensure-chromium); the tests themselves never skip for want of it.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Route, WebError, WebSocketRoute
from playwright.sync_api import Error as PlaywrightError

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"

# The only hosts a page may reach: the live server's.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# URLs that name no host and reach no network.
LOCAL_SCHEMES = frozenset({"data", "blob", "about"})

# The password `log_in` gives a test user that has another one (or none).
PASSWORD = "browser-pass-123"

DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "screen": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}


def chromium_executable() -> str:
    """The Chromium to drive: CHROMIUM if set, else `chromium` on PATH; fails the test run otherwise."""
    named = os.environ.get("CHROMIUM")
    if named:
        if os.path.isfile(named) and os.access(named, os.X_OK):
            return named
        pytest.fail(f"CHROMIUM={named} is not an executable file.", pytrace=False)
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(
            "The browser tests need Chromium and `chromium` is not on PATH: install Debian's package "
            "`chromium` (`make test` does it when run as root) or set CHROMIUM=/path/to/chromium.",
            pytrace=False,
        )
    return found


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    return parts.hostname in LOCAL_HOSTS


@dataclass
class PageWatch:
    """What a browser context did that a page test must not: reach another host, log errors.

    Requests to any host but the live server's are aborted before they leave, and listed.
    """

    name: str = "the page"
    external_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    _reported: int = 0
    _context: BrowserContext | None = None

    def attach(self, context: BrowserContext) -> None:
        self._context = context
        context.route(re.compile(r".*"), self._on_request)
        context.route_web_socket(re.compile(r".*"), self._on_websocket)
        context.on("console", self._on_console)
        context.on("weberror", self._on_web_error)

    def _on_request(self, route: Route) -> None:
        if is_local(route.request.url):
            route.fallback()
        else:
            self.external_requests.append(f"{route.request.method} {route.request.url}")
            route.abort("blockedbyclient")

    def _on_websocket(self, ws: WebSocketRoute) -> None:
        if is_local(ws.url):
            ws.connect_to_server()
        else:
            self.external_requests.append(f"WebSocket {ws.url}")
            ws.close(code=1008, reason="tests reach no other host")

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where, line = message.location.get("url"), message.location.get("lineNumber")
            if where and line:
                where = f"{where}:{line}"
            self.console_errors.append(f"{message.text} ({where})" if where else message.text)

    def _on_web_error(self, error: WebError) -> None:
        self.page_errors.append(str(error.error))

    def problems(self) -> list[str]:
        return (
            [f"request to another host: {url}" for url in self.external_requests]
            + [f"console error: {text}" for text in self.console_errors]
            + [f"uncaught page error: {text}" for text in self.page_errors]
        )

    def fail_if_any(self) -> None:
        """Fail the test with every problem not reported yet."""
        if self._context is not None:
            flush_events(self._context)
        problems = self.problems()
        new, self._reported = problems[self._reported :], len(problems)
        if new:
            listing = "\n".join(f"  - {problem}" for problem in new)
            pytest.fail(f"`{self.name}` did what a page must not:\n{listing}", pytrace=False)


def flush_events(context: BrowserContext) -> None:
    """A round trip to each open page, so events the browser already sent reach the watch."""
    for open_page in context.pages:
        with suppress(PlaywrightError):  # closed or navigating: nothing left to wait for
            open_page.evaluate("0")


@contextmanager
def watched_page(browser: Browser, name: str = "page", **context_options: Any) -> Iterator[tuple[Page, PageWatch]]:
    """A page in a fresh context, whose requests, console errors and page errors are watched."""
    context = browser.new_context(service_workers="block", **context_options)
    watch = PageWatch(name=name)
    watch.attach(context)
    try:
        yield context.new_page(), watch
        flush_events(context)
    finally:
        context.close()


def submit_login_form(page: Page, username: str, password: str) -> None:
    """Fill the log-in form on the current page, submit it and wait for the page that answers."""
    form = page.locator("form", has=page.locator("input[name=password]"))
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        form.get_by_role("button", name="Log in").click()


def log_in(page: Page, base_url: str, user: User, password: str = PASSWORD) -> Page:
    """Log `user` in through the form at /login/ (giving them `password` first if it is not theirs)."""
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    page.goto(f"{base_url}/login/")
    submit_login_form(page, user.get_username(), password)
    if urlsplit(page.url).path == "/login/":
        pytest.fail(f"Logging in as {user.get_username()} failed: still on {page.url}", pytrace=False)
    return page


def save_screenshot(page: Page, name: str, folder: Path = SCREENSHOTS) -> Path:
    """Save the whole page to docs/screenshots/<name>.png, at CSS-pixel size; returns the path."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise ValueError(f"screenshot names are lower-case words with - or _, not {name!r}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=True, scale="css", animations="disabled", caret="hide")
    return path
