"""The dashboard pages, server side: who sees what, state in the URL, tables and CSV."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime

import orjson
import pytest
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.test import Client

from dashboards.charts import figures_json
from dashboards.state import chart_step
from monitor.annotations.models import Annotation
from monitor.catalogue.models import ModelVersion
from tests.conftest import post_records, record, roll_up_everything

PAGES = ("overview", "tiers", "compare", "detail")


def _url(page: str, slug: str = "acme") -> str:
    return {"overview": f"/p/{slug}/", "tiers": f"/p/{slug}/tiers/", "compare": f"/p/{slug}/compare/",
            "detail": f"/p/{slug}/detail/"}[page]  # fmt: skip


def _logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def traffic(client, project, ingest_key):
    """A few minutes of calls on the three seed tiers, rolled up."""
    now = time.time()
    records = []
    for n in range(120):
        tier = ("o3", "4o", "o4-mini")[n % 3]
        latency = {"o3": 2000.0, "4o": 800.0, "o4-mini": 300.0}[tier]
        records.append(
            record(ts=now - 200 + n, tier=tier, model=f"{tier}-v1", latency_ms=latency + n, ttft_ms=latency / 2,
                   service="<script>alert(1)</script>" if n == 0 else "support-bot")
        )  # fmt: skip
    assert post_records(client, ingest_key, records).status_code == 202
    roll_up_everything()
    return records


def _csv(response: HttpResponseBase) -> list[list[str]]:
    assert isinstance(response, HttpResponse)
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("page", PAGES)
def test_an_anonymous_visitor_is_sent_to_the_log_in_form(client, project, page):
    response = client.get(_url(page))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("page", PAGES)
def test_an_outsider_gets_not_found_for_another_projects_pages(outsider, project, page):
    assert _logged_in(outsider).get(_url(page)).status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_a_teammate_sees_every_page_with_the_tiers_measured(teammate, traffic, page):
    response = _logged_in(teammate).get(_url(page))
    assert response.status_code == 200
    body = response.content.decode()
    assert "o4-mini" in body
    # Plotly comes from this server, and only to pages that draw charts.
    assert ("/static/plotly/plotly.min.js" in body) == bool(response.context.get("charts"))
    assert "cdn" not in body.lower()


@pytest.mark.parametrize(("seconds", "step"), [(900, 5), (3_600, 15), (21_600, 60), (86_400, 60), (2_592_000, 3_600)])
def test_chart_steps_land_on_a_rollup_level_past_a_minute(seconds, step):
    assert chart_step(seconds) == step


def test_the_overview_shows_live_tiles_and_a_table_per_tier(owner, traffic):
    response = _logged_in(owner).get("/p/acme/")
    tiles = response.context["tiles"]
    assert sorted(t["tier"] for t in tiles) == ["4o", "o3", "o4-mini"]
    table = response.context["tables"][0]
    assert {row[0]: row[1] for row in table.rows} == {"4o": 40, "o3": 40, "o4-mini": 40}
    assert set(response.context["charts"]) == {"latency", "ttft", "qps", "errors", "cost"}


def test_a_tier_filter_narrows_what_is_shown(owner, traffic):
    response = _logged_in(owner).get("/p/acme/?tier=o3")
    assert [row[0] for row in response.context["tables"][0].rows] == ["o3"]
    assert response.context["state"].filters == {"tier": ("o3",)}


def test_the_range_is_kept_in_the_links(owner, traffic):
    response = _logged_in(owner).get("/p/acme/?range=6h&tier=4o")
    state = response.context["state"]
    assert state.end - state.start == 21_600
    for _, _, href in response.context["navigation"]:
        assert "range=6h" in href and "tier=4o" in href


def test_a_custom_range_shows_only_its_calls(owner, traffic):
    end = datetime.fromtimestamp(time.time() - 1000, UTC).strftime("%Y-%m-%dT%H:%M")
    start = datetime.fromtimestamp(time.time() - 4000, UTC).strftime("%Y-%m-%dT%H:%M")
    response = _logged_in(owner).get(f"/p/acme/?range=custom&from={start}&to={end}")
    assert response.context["state"].range_key == "custom"
    assert response.context["tables"][0].rows == []
    assert "No data in this range" in response.content.decode()


def test_a_bad_range_falls_back_to_the_last_hour_and_says_so(owner, traffic):
    response = _logged_in(owner).get("/p/acme/?range=3y")
    assert response.status_code == 200
    assert response.context["state"].range_key == "1h"
    assert any("range" in problem for problem in response.context["state"].problems)


def test_a_service_name_with_markup_shows_as_text(owner, traffic):
    body = _logged_in(owner).get("/p/acme/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


@pytest.mark.parametrize(("page", "table"), [("overview", "tiers"), ("tiers", "comparison"), ("detail", "models"),
                                             ("compare", "comparison")])  # fmt: skip
def test_every_table_exports_as_csv(owner, traffic, page, table):
    response = _logged_in(owner).get(_url(page) + f"?range=1h&export={table}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert len(rows) >= 2
    shown = _logged_in(owner).get(_url(page) + "?range=1h")
    expected = next(t for t in shown.context["all_tables"] if t.key == table)
    assert rows[0] == [c.label for c in expected.columns]
    assert len(rows) - 1 == len(expected.rows)


def test_an_unknown_export_is_not_found(owner, traffic):
    assert _logged_in(owner).get("/p/acme/?export=nope").status_code == 404


def test_the_csv_defuses_a_name_a_spreadsheet_would_run(owner, client, project, ingest_key):
    post_records(client, ingest_key, [record(tier="=HYPERLINK(1)")])
    roll_up_everything()
    rows = _csv(_logged_in(owner).get("/p/acme/?export=tiers"))
    assert rows[1][0] == "'=HYPERLINK(1)"


def test_the_tier_advisor_finds_the_seeds_eighty_percent_saving(owner, traffic):
    response = _logged_in(owner).get("/p/acme/tiers/?move_from=o3&move_to=o4-mini")
    saving = response.context["saving"]
    assert saving.from_tier == "o3" and saving.to_tier == "o4-mini"
    assert float(saving.saving_fraction) == pytest.approx(0.8)
    verdicts = {v.tier: v for v in response.context["verdicts"]}
    # Real-time customer service, the default scenario: first response under 500 ms.
    assert not verdicts["o3"].qualifies
    assert "TTFT" in verdicts["o3"].reason
    assert verdicts["4o"].qualifies


def test_a_custom_scenario_with_a_bad_value_names_it(owner, traffic):
    response = _logged_in(owner).get("/p/acme/tiers/?scenario=custom&max_cost=cheap")
    assert any("max_cost" in p for p in response.context["advisor_problems"])


def test_version_ab_flags_a_change_over_fifteen_percent(owner, client, project, ingest_key):
    now = time.time()
    old = [record(ts=now - 100 + n / 10, tier="4o", model="4o-old", latency_ms=1000.0) for n in range(50)]
    new = [record(ts=now - 100 + n / 10, tier="4o", model="4o-new", latency_ms=700.0) for n in range(50)]
    post_records(client, ingest_key, old + new)
    roll_up_everything()
    response = _logged_in(owner).get("/p/acme/compare/?a=4o-old&b=4o-new")
    assert response.context["verdict"]["kind"] == "improved"
    assert "Latency p95 -30 %" in response.context["verdict"]["text"]
    response = _logged_in(owner).get("/p/acme/compare/?a=4o-new&b=4o-old")
    assert response.context["verdict"]["kind"] == "regressed"


def test_an_annotation_opens_a_before_after_comparison(owner, client, project, ingest_key):
    now = int(time.time())
    before = [record(ts=now - 500 + n, tier="o3", latency_ms=2000.0) for n in range(100)]
    after = [record(ts=now - 200 + n, tier="o3", latency_ms=1000.0) for n in range(100)]
    post_records(client, ingest_key, before + after)
    roll_up_everything()
    note = Annotation.objects.create(
        project=project, time=datetime.fromtimestamp(now - 250, UTC), text="INT8 quantisation on",
        filter={"tier": ["o3"]},
    )  # fmt: skip
    overview = _logged_in(owner).get("/p/acme/")
    assert [a["id"] for a in overview.context["annotations"]] == [note.pk]
    response = _logged_in(owner).get(overview.context["annotations"][0]["href"])
    assert response.context["mode"] == "before_after"
    assert response.context["verdict"]["kind"] == "improved"


def test_the_detail_page_flags_a_deprecated_version_still_taking_calls(owner, traffic, project):
    ModelVersion.objects.filter(project=project, name="4o-v1").update(lifecycle="deprecated")
    response = _logged_in(owner).get("/p/acme/detail/?tier=4o")
    assert [f["model"] for f in response.context["flagged"]] == ["4o-v1"]
    assert [row[1] for row in response.context["tables"][0].rows] == ["4o-v1"]


def test_the_owner_adds_an_annotation_from_the_form(owner, project):
    response = _logged_in(owner).post(
        "/p/acme/annotations/", {"text": "batch size 8→32", "tier": "4o", "next": "/p/acme/"}
    )
    assert response.status_code == 302
    note = Annotation.objects.get(project=project)
    assert note.text == "batch size 8→32" and note.filter == {"tier": ["4o"]}


def test_a_teammate_cannot_add_an_annotation(teammate, project):
    _logged_in(teammate).post("/p/acme/annotations/", {"text": "sneaky"})
    assert not Annotation.objects.exists()


def test_the_project_switcher_lists_only_the_users_projects(owner, project, other_project):
    response = _logged_in(owner).get("/p/acme/")
    assert [p.slug for p in response.context["projects"]] == ["acme"]


def test_the_annotation_form_never_redirects_off_site(owner, project):
    response = _logged_in(owner).post("/p/acme/annotations/", {"text": "x", "next": "//evil.example/path"})
    assert response.status_code == 302
    assert response["Location"].startswith("/p/acme/")


def test_a_name_with_a_link_shows_as_text_in_the_charts(owner, client, project, ingest_key):
    link = '<a href="https://evil.example/">o3</a>'
    post_records(client, ingest_key, [record(tier=link, latency_ms=100.0)])
    roll_up_everything()
    charts = _logged_in(owner).get("/p/acme/").context["charts"]
    names = [trace["name"] for chart in charts.values() for trace in chart["data"]]
    assert names and not any("<a" in name for name in names)
    assert any("&lt;a href=" in name for name in names)
    tiers = _logged_in(owner).get("/p/acme/tiers/").context["charts"]["capacity"]
    assert not any("<a" in str(x) for trace in tiers["data"] for x in trace["x"])


def test_a_custom_range_keeps_its_seconds_in_every_link(owner, traffic):
    start = datetime.fromtimestamp(time.time() - 3000, UTC).replace(second=30)
    response = _logged_in(owner).get(f"/p/acme/?range=custom&from={start:%Y-%m-%dT%H:%M:%S}")
    state = response.context["state"]
    assert state.start == int(start.timestamp()) and state.open_end
    for _, _, href in response.context["navigation"]:
        assert f"from={start:%Y-%m-%dT%H}%3A{start:%M}%3A30" in href
        assert "to=" not in href  # an open end keeps running up to now


def test_the_csv_link_pins_the_window_on_screen(owner, traffic):
    response = _logged_in(owner).get("/p/acme/?range=1h")
    state, table = response.context["state"], response.context["tables"][0]
    assert "range=custom" in table.export_href
    assert f"from={datetime.fromtimestamp(state.start, UTC):%Y-%m-%dT%H}" in table.export_href


def test_the_comparison_csv_holds_numbers(owner, traffic):
    rows = _csv(_logged_in(owner).get("/p/acme/compare/?a=o3-v1&b=4o-v1&export=comparison"))
    by_metric = {row[0]: row for row in rows[1:]}
    assert float(by_metric["Latency p95"][1]) > float(by_metric["Latency p95"][2])
    assert int(by_metric["Requests"][1]) == 40


def test_a_tile_links_to_its_tier_alone(owner, traffic):
    tiles = _logged_in(owner).get("/p/acme/?tier=o3&tier=4o").context["tiles"]
    href = next(t["href"] for t in tiles if t["tier"] == "o3")
    assert href.count("tier=") == 1 and "tier=o3" in href


def test_before_after_narrows_the_annotations_scope_by_the_pages_filters(owner, client, project, ingest_key):
    now = int(time.time())
    post_records(client, ingest_key, [record(ts=now - 500 + n, tier=("o3", "4o")[n % 2]) for n in range(400)])
    roll_up_everything()
    note = Annotation.objects.create(project=project, time=datetime.fromtimestamp(now - 250, UTC), text="cache on")
    both = _logged_in(owner).get(f"/p/acme/compare/?annotation={note.pk}")
    only_o3 = _logged_in(owner).get(f"/p/acme/compare/?annotation={note.pk}&tier=o3")
    requests = {
        name: {row[0]: row for row in response.context["table"].rows}["Requests"][1]
        for name, response in (("both", both), ("o3", only_o3))
    }
    assert requests["o3"] < requests["both"]
    assert only_o3.context["scope"] == {"tier": ("o3",)}


def test_before_after_waits_for_a_minute_after_the_annotation(owner, project):
    note = Annotation.objects.create(project=project, time=datetime.now(UTC), text="just now")
    response = _logged_in(owner).get(f"/p/acme/compare/?annotation={note.pk}")
    assert response.context["verdict"]["kind"] == "empty"
    assert "Less than a minute" in response.context["verdict"]["text"]


def test_the_figures_json_cannot_close_its_script_element():
    text = figures_json({"name": "</script><script>alert(1)</script>&"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert orjson.loads(text.encode()) == {"name": "</script><script>alert(1)</script>&"}
