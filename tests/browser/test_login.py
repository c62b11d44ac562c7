"""Logging in through the browser: the form, where it lands, what a wrong password shows.

Every page here is watched: a request leaving localhost, a console error or an
uncaught page error fails the test (tests/browser/conftest.py).
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.helpers import PASSWORD, log_in, submit_login_form


def test_an_anonymous_visitor_of_the_home_page_is_sent_to_the_log_in_form(page, live_server):
    page.goto(f"{live_server.url}/")

    expect(page).to_have_url(f"{live_server.url}/login/?next=/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)


def test_logging_in_with_the_right_password_lands_on_the_home_page_showing_only_the_users_projects(
    page, live_server, owner, project, other_project
):
    owner.set_password(PASSWORD)
    owner.save()
    page.goto(f"{live_server.url}/")

    submit_login_form(page, "olivia", PASSWORD)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()
    expect(page.locator("header")).to_contain_text("olivia")
    expect(page.get_by_role("table").get_by_role("cell", name="acme", exact=True)).to_have_count(1)
    expect(page.get_by_text("globex")).to_have_count(0)


def test_a_wrong_password_shows_an_error_and_logs_nobody_in(page, live_server, owner, project):
    page.goto(f"{live_server.url}/login/")

    submit_login_form(page, "olivia", "not-her-password")

    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.locator(".error")).to_have_text(re.compile("username and password didn't match"))
    expect(page.get_by_label("Username")).to_have_value("olivia")
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")
    expect(page.get_by_text("acme")).to_have_count(0)


def test_logging_out_returns_to_the_log_in_form(logged_in, live_server):
    expect(logged_in).to_have_url(f"{live_server.url}/")

    with logged_in.expect_navigation():
        logged_in.get_by_role("button", name="Log out").click()

    expect(logged_in).to_have_url(f"{live_server.url}/login/")
    logged_in.goto(f"{live_server.url}/")
    expect(logged_in).to_have_url(f"{live_server.url}/login/?next=/")


def test_the_log_in_form_fits_a_phone_screen(phone_page, live_server, owner):
    phone_page.goto(f"{live_server.url}/login/")

    expect(phone_page.get_by_role("button", name="Log in")).to_be_in_viewport()
    overflow = phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the log-in page is {overflow}px wider than a phone screen"

    log_in(phone_page, live_server.url, owner)
    expect(phone_page.get_by_role("heading", name="Your projects")).to_be_visible()
