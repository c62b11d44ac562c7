"""The dashboards in a real browser: charts drawn with data, controls, exports, annotations.

Screenshots of each page go to $SCREENSHOTS_DIR when it is set (``make screenshots``
sets docs/screenshots), else to the test's temporary folder.
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Dialog, Page, expect

from monitor.annotations.models import Annotation
from monitor.catalogue.models import ModelVersion
from tests.browser.helpers import log_in, save_screenshot
from tests.conftest import post_records, record, roll_up_everything

XSS = "<script>alert(1)</script>"
PAGES = {"overview": "", "tiers": "tiers/", "compare": "compare/", "detail": "detail/"}
CHARTS = {"overview": 5, "tiers": 1, "compare": 0, "detail": 4}


def _traffic(now: float) -> list[dict[str, Any]]:
    """Forty minutes of calls on the seed tiers, an old 4o version among them."""
    profiles = {"o3": (4000.0, 1000.0, 3), "4o": (1500.0, 400.0, 6), "o4-mini": (600.0, 150.0, 10)}
    records = []
    for minute in range(40):
        for tier, (latency, ttft, per_minute) in profiles.items():
            for n in range(per_minute):
                model = "4o-2024-05-13" if tier == "4o" and n == 0 else f"{tier}-2025-04-16"
                records.append(
                    record(
                        ts=now - 2400 + minute * 60 + n * 60 / per_minute, tier=tier, model=model,
                        service=XSS if n == 1 else "support-bot", latency_ms=latency * (1 + n / 10),
                        ttft_ms=ttft * (1 + n / 20), tokens_out=200,
                        status="error" if n == 2 and minute % 7 == 0 else "ok",
                    )
                )  # fmt: skip
    return records


@pytest.fixture
def dashboard_data(live_server: Any, project: Any, ingest_key: str) -> list[dict[str, Any]]:
    now = time.time()
    records = _traffic(now)
    for start in range(0, len(records), 500):
        assert post_records(Client(), ingest_key, records[start : start + 500]).status_code == 202
    roll_up_everything()
    ModelVersion.objects.filter(project=project, name="4o-2024-05-13").update(lifecycle="deprecated")
    Annotation.objects.create(
        project=project, time=datetime.fromtimestamp(now - 1200, UTC), text="INT8 quantisation on",
        filter={"tier": ["o4-mini"]},
    )  # fmt: skip
    return records


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return Path(os.environ["SCREENSHOTS_DIR"]) if os.environ.get("SCREENSHOTS_DIR") else tmp_path


def _open(page: Page, base: str, name: str, query: str = "") -> None:
    page.goto(f"{base}/p/acme/{PAGES[name]}{query}")
    page.wait_for_selector("body[data-charts-drawn]", timeout=10_000)


def _requests_in_table(page: Page) -> dict[str, int]:
    rows = page.locator("[data-table=tiers] tbody tr")
    return {
        rows.nth(i).locator("td").nth(0).inner_text(): int(
            rows.nth(i).locator("td").nth(1).inner_text().replace(",", "")
        )
        for i in range(rows.count())
    }


@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_draws_its_charts_with_data(page, live_server, owner, dashboard_data, shots, name):
    log_in(page, live_server.url, owner)
    _open(page, live_server.url, name)
    expect(page.locator(".chart[data-rendered=true]")).to_have_count(CHARTS[name])
    if CHARTS[name]:
        drawn = page.evaluate(
            "document.querySelectorAll('.chart .scatterlayer .trace, .chart .barlayer .trace').length"
        )
        assert drawn > 0
    expect(page.locator(".table-card tbody tr").first).to_be_visible()
    save_screenshot(page, name, shots)


def test_the_overview_marks_annotations_on_its_charts(page, live_server, owner, dashboard_data):
    log_in(page, live_server.url, owner)
    _open(page, live_server.url, "overview")
    expect(page.locator(".chart[data-chart=latency] .annotation-text")).to_have_text("INT8 quantisation on")


def test_changing_the_range_changes_what_is_shown(page, live_server, owner, dashboard_data):
    log_in(page, live_server.url, owner)
    _open(page, live_server.url, "overview")
    hour = _requests_in_table(page)
    with page.expect_navigation():
        page.select_option("#range", "15m")
    page.wait_for_selector("body[data-charts-drawn]")
    assert "range=15m" in page.url
    quarter = _requests_in_table(page)
    assert set(quarter) == set(hour)
    assert all(quarter[tier] < hour[tier] for tier in hour)


def test_a_tier_filter_changes_what_is_shown_and_stays_in_the_url(page, live_server, owner, dashboard_data):
    log_in(page, live_server.url, owner)
    _open(page, live_server.url, "overview")
    tiers = page.locator("details[data-filter=tier]")
    tiers.locator("summary").click()
    tiers.get_by_label("o3", exact=True).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Apply").click()
    page.wait_for_selector("body[data-charts-drawn]")
    assert "tier=o3" in page.url
    assert list(_requests_in_table(page)) == ["o3"]
    expect(page.locator(".tile h3")).to_have_text(["o3"])
    page.get_by_role("link", name="Tier comparison").click()
    assert "tier=o3" in page.url


def test_csv_export_downloads_the_table_shown(page, live_server, owner, dashboard_data):
    log_in(page, live_server.url, owner)
    _open(page, live_server.url, "overview")
    shown = _requests_in_table(page)
    with page.expect_download() as info:
        page.locator("[data-table=tiers] a.export").click()
    download = info.value
    assert download.suggested_filename == "acme-overview-tiers.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text())))
    assert rows[0][:2] == ["Tier", "Requests"]
    assert {row[0]: int(row[1]) for row in rows[1:]} == shown


def test_names_with_markup_show_as_text(page, live_server, owner, ingest_key, dashboard_data):
    link = '<a href="https://evil.example/">m</a>'
    post_records(Client(), ingest_key, [record(ts=time.time() - 30, tier="4o", model=link, service=XSS)])
    roll_up_everything()
    dialogs: list[str] = []

    def refuse(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    log_in(page, live_server.url, owner)
    _open(page, live_server.url, "overview")
    services = page.locator("details[data-filter=service]")
    services.locator("summary").click()
    expect(services.get_by_text(XSS, exact=True)).to_be_visible()
    _open(page, live_server.url, "detail")  # charts per model: the link is a trace name
    expect(page.locator("[data-table=models]")).to_contain_text(link)
    expect(page.locator(".chart .legendtext", has_text=link).first).to_be_visible()
    expect(page.locator(".chart a")).to_have_count(0)
    _open(page, live_server.url, "detail", f"?service={XSS}")
    expect(page.locator("details[data-filter=service] summary")).to_contain_text(XSS)
    assert dialogs == []


def test_auto_refresh_reloads_the_page(page, live_server, owner, dashboard_data):
    log_in(page, live_server.url, owner)
    _open(page, live_server.url, "overview", "?refresh=5")
    expect(page.locator("#refresh")).to_have_value("5")
    with page.expect_navigation(timeout=9_000):
        pass  # the page reloads itself
    page.wait_for_selector("body[data-charts-drawn]")
    assert "refresh=5" in page.url


def test_auto_refresh_reloads_a_custom_range_starting_on_a_whole_minute(page, live_server, owner, dashboard_data):
    # The browser reads such a datetime-local value back without its ":00": not an edit.
    start = datetime.fromtimestamp(time.time() // 60 * 60 - 1800, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    log_in(page, live_server.url, owner)
    _open(page, live_server.url, "overview", f"?range=custom&from={start}&refresh=5")
    with page.expect_navigation(timeout=9_000):
        pass
    page.wait_for_selector("body[data-charts-drawn]")


def test_auto_refresh_waits_while_a_form_is_being_filled_in(page, live_server, owner, dashboard_data):
    log_in(page, live_server.url, owner)
    _open(page, live_server.url, "overview", "?refresh=5")
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("#refresh-paused")).to_be_hidden()
    page.get_by_text("Add an annotation").click()
    page.get_by_label("Text").fill("half-typed note")
    page.locator("body").click(position={"x": 5, "y": 5})  # focus leaves the field: still edited
    expect(page.locator("#refresh-paused")).to_be_visible(timeout=9_000)
    assert page.evaluate("window.__notReloaded") is True
    expect(page.get_by_label("Text")).to_have_value("half-typed note")
    page.get_by_label("Text").fill("")  # back as it was: nothing left to lose
    page.locator("body").click(position={"x": 5, "y": 5})
    with page.expect_navigation(timeout=9_000):
        pass
    page.wait_for_selector("body[data-charts-drawn]")


def test_an_annotation_opens_a_before_after_comparison(page, live_server, owner, dashboard_data):
    log_in(page, live_server.url, owner)
    _open(page, live_server.url, "overview")
    page.get_by_role("link", name="before / after").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Before / after “INT8 quantisation on”")
    expect(page.locator("[data-verdict]")).to_be_visible()
    expect(page.locator("[data-table=comparison] tbody tr")).to_have_count(9)


def test_the_owner_adds_an_annotation_in_the_page(page, live_server, owner, dashboard_data):
    log_in(page, live_server.url, owner)
    _open(page, live_server.url, "overview")
    page.get_by_text("Add an annotation").click()
    page.get_by_label("Text").fill("cache pool enabled")
    with page.expect_navigation():
        page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".annotations li", has_text="cache pool enabled")).to_have_count(1)


def test_the_tier_advisor_answers_a_custom_scenario(page, live_server, owner, dashboard_data):
    log_in(page, live_server.url, owner)
    _open(page, live_server.url, "tiers")
    page.select_option("#scenario", "custom")
    page.get_by_label("Cost ceiling per call").fill("0.05")
    with page.expect_navigation():
        page.get_by_role("button", name="Advise").click()
    expect(page.locator("tr[data-tier=o4-mini]")).to_have_class(re.compile("qualifies"))
    expect(page.locator("tr[data-tier=o3]")).to_have_class(re.compile("fails"))
    expect(page.locator(".saving")).to_contain_text("80 %")


def test_version_ab_compares_two_versions_with_a_verdict(page, live_server, owner, dashboard_data):
    log_in(page, live_server.url, owner)
    _open(page, live_server.url, "compare")
    page.select_option("select[name=a]", "o3-2025-04-16")
    page.select_option("select[name=b]", "o4-mini-2025-04-16")
    with page.expect_navigation():
        page.get_by_role("button", name="Compare").click()
    expect(page.locator("[data-verdict]")).to_contain_text("improves")
    expect(page.locator("[data-table=comparison] th").nth(1)).to_have_text("o3-2025-04-16")


def test_the_detail_page_flags_a_deprecated_version_taking_traffic(page, live_server, owner, dashboard_data):
    log_in(page, live_server.url, owner)
    _open(page, live_server.url, "detail", "?tier=4o")
    expect(page.get_by_role("alert")).to_contain_text("4o-2024-05-13")
    expect(page.get_by_role("alert")).to_contain_text("deprecated")


def test_an_empty_range_says_so(page, live_server, owner, project):
    log_in(page, live_server.url, owner)
    for name in PAGES:
        _open(page, live_server.url, name)
    _open(page, live_server.url, "overview")
    expect(page.get_by_text("No data in this range.").first).to_be_visible()


def test_the_overview_is_usable_on_a_phone(phone_page, live_server, owner, dashboard_data, shots):
    log_in(phone_page, live_server.url, owner)
    _open(phone_page, live_server.url, "overview")
    expect(phone_page.locator(".chart[data-rendered=true]")).to_have_count(5)
    overflow = phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    save_screenshot(phone_page, "overview-phone", shots)
