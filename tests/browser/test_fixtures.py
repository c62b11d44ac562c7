"""The browser fixtures themselves: static files are served, and a page that reaches
another host or logs an error is caught rather than passed over."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.browser.helpers import DESKTOP, REPO_ROOT, SCREENSHOTS, save_screenshot, watched_page


def test_the_live_server_serves_the_stylesheet_the_pages_link(page, live_server):
    response = page.request.get(f"{live_server.url}/static/css/app.css")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "body" in response.text()

    page.goto(f"{live_server.url}/login/")
    rules = page.evaluate("[...document.styleSheets].reduce((n, sheet) => n + sheet.cssRules.length, 0)")
    assert rules > 0


def test_a_request_to_another_host_is_aborted_and_reported(browser):
    with watched_page(browser, **DESKTOP) as (page, watch):
        with page.expect_event("requestfailed") as failed:
            page.set_content('<img src="https://cdn.example.com/pixel.png" alt="">')
        assert failed.value.url == "https://cdn.example.com/pixel.png"
        assert watch.external_requests == ["GET https://cdn.example.com/pixel.png"]
        assert "request to another host: GET https://cdn.example.com/pixel.png" in watch.problems()


def test_a_websocket_to_another_host_is_refused_and_reported(browser):
    with watched_page(browser, **DESKTOP) as (page, watch):
        page.set_content("<script>new WebSocket('wss://push.example.com/feed')</script>")
        deadline = time.monotonic() + 5
        while not watch.external_requests and time.monotonic() < deadline:
            page.wait_for_timeout(20)
        assert watch.external_requests == ["WebSocket wss://push.example.com/feed"]


def test_console_errors_and_uncaught_exceptions_are_reported(browser):
    with watched_page(browser, **DESKTOP) as (page, watch):
        page.set_content("<script>console.error('boom'); console.warn('only a warning')</script>")
        with page.expect_event("pageerror"):
            page.set_content("<script>throw new Error('kaput')</script>")
        page.evaluate("0")
        assert [text.split(" (")[0] for text in watch.console_errors] == ["boom"]
        assert any("kaput" in text for text in watch.page_errors)


def test_a_phone_page_has_a_phone_sized_touch_screen(phone_page):
    phone_page.set_content('<meta name="viewport" content="width=device-width, initial-scale=1"><p>hello</p>')
    assert phone_page.evaluate("[window.innerWidth, window.innerHeight]") == [390, 844]
    assert phone_page.evaluate("navigator.maxTouchPoints") > 0


def test_a_screenshot_is_a_whole_page_png_named_after_the_page(page, live_server, tmp_path):
    page.goto(f"{live_server.url}/login/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    path = save_screenshot(page, "login", folder=tmp_path)  # docs/screenshots/ by default

    assert path == tmp_path / "login.png"
    png = path.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1280, 800)
    assert SCREENSHOTS == REPO_ROOT / "docs" / "screenshots"
