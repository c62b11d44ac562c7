"""Dashboard pages over 10M records: server response time, and charts drawn in a real browser.

    bench/pages [--records 10000000] [--runs 30] [--browser-runs 10] [--data DIR] [--filtered-runs 5]

Starts everything `make run` starts but the demo generator (web, worker, beat) with
RAW_RETENTION_DAYS=31, in a scratch folder; creates a project `bench`, its owner `bench`
(with a password) and an ingest key; posts --records calls spread over the last 30 days
over HTTP (the three seed tiers; 4o with a deprecated version taking a tenth of its calls,
o4-mini upgraded to a new version ten days ago, with an annotation; 4 services,
2 deployments), waits for the rollups, then tops the data up to the current second.
While the pages are timed the fleet keeps calling at the same rate (a batch every 5 s).

Then, logged in through the log-in form:
  - server: --runs GETs (httpx, one session, one at a time) of each page (overview,
    tiers, compare, detail) at each range of --ranges; p50/p95 per page and range against
    the 300 ms goal;
  - filtered views: --filtered-runs GETs of overview and detail with --filter (a
    dimension those pages do not group by) at each of --filtered-ranges; shown, not
    judged (docs/performance.md, "Filtered views"); --filtered-runs 0 leaves them out;
  - browser: headless Debian Chromium (Playwright), --browser-runs navigations to each
    page at each range of --browser-ranges, timed from navigation start to the moment the
    page sets body[data-charts-drawn] (all its Plotly charts drawn); p50/p95 against the
    2 s goal. One untimed navigation per page first, so Plotly comes from the HTTP cache
    as it does for anyone who has opened a dashboard before.

--data DIR keeps the stack's data folder in DIR: the first run loads it (and leaves it
there); a later run with the same --records finds it there, only tops it up from its last
record to now (a few seconds of loading per hour since), and goes straight to the timing.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import connect  # also puts the repository on sys.path
from pages_data import DAYS, PagesStack, Trickle, batches, due, kept_plan, post, save_manifest, set_up
from query_latency import wait_for_rollups

SERVER_GOAL_MS = 300.0
BROWSER_GOAL_S = 2.0
BROWSER_TIMEOUT_MS = 120_000  # per navigation, and again for its charts
PAGES = {"overview": "", "tiers": "tiers/", "compare": "compare/", "detail": "detail/"}

# Set when the page script marks its charts drawn: the time since navigation start.
CHARTS_DRAWN_PROBE = """
(() => {
  const seen = () => {
    if (window.__chartsDrawnAt === undefined && document.body && "chartsDrawn" in document.body.dataset) {
      window.__chartsDrawnAt = performance.now();
    }
  };
  new MutationObserver(seen).observe(document,
    { subtree: true, attributes: true, attributeFilter: ["data-charts-drawn"] });
})();
"""
READ_TIMES = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  return [window.__chartsDrawnAt ?? null, nav ? nav.responseEnd : null, nav ? nav.domContentLoadedEventEnd : null,
          document.body.dataset.chartsDrawn];
}"""


# --- timing ------------------------------------------------------------------------------


def percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p95, p95 as the value at rank ⌊0.95 n⌋ (as the other benchmarks take it)."""
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def log_in(url: str, plan: dict[str, Any]) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    form = client.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token, "no CSRF token in the log-in form"
    answer = client.post(
        "/login/", data={"username": plan["username"], "password": plan["password"],
                         "csrfmiddlewaretoken": token.group(1), "next": ""},
    )  # fmt: skip
    assert answer.status_code == 302 and "sessionid" in client.cookies, f"log-in failed ({answer.status_code})"
    return client


def page_path(slug: str, name: str, range_key: str, extra: str = "") -> str:
    return f"/p/{slug}/{PAGES[name]}?range={range_key}{extra}"


def time_server(
    client: httpx.Client, slug: str, ranges: list[str], runs: int, extra: str = "", pages: tuple[str, ...] = (*PAGES,)
) -> dict[tuple[str, str], Any]:
    """Per (page, range): response times in ms and the HTML size; the runs interleaved.
    ``extra`` is added to each page's query string (a filter)."""
    combos = [(name, range_key) for name in pages for range_key in ranges]
    times: dict[tuple[str, str], list[float]] = {combo: [] for combo in combos}
    sizes: dict[tuple[str, str], int] = {}
    for run in range(runs + 1):
        for name, range_key in combos:
            began = time.perf_counter()
            response = client.get(page_path(slug, name, range_key, extra))
            body = response.read()
            took = (time.perf_counter() - began) * 1000
            assert response.status_code == 200, f"{name} {range_key}: HTTP {response.status_code}"
            sizes[name, range_key] = len(body)
            if run:  # the first round warms the workers' caches
                times[name, range_key].append(took)
    return {combo: (times[combo], sizes[combo]) for combo in combos}


def time_browser(url: str, plan: dict[str, Any], ranges: list[str], runs: int) -> dict[tuple[str, str], Any]:
    """Per (page, range): [charts drawn, response end, DOMContentLoaded] in ms since navigation start."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        sys.exit("bench/pages needs Debian's chromium (apt-get install chromium): it is not on PATH.")
    combos = [(name, range_key) for name in PAGES for range_key in ranges]
    results: dict[tuple[str, str], list[list[float]]] = {combo: [] for combo in combos}
    charts: dict[tuple[str, str], str] = {}
    failed: dict[tuple[str, str], int] = {combo: 0 for combo in combos}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"] if os.geteuid() == 0 else []
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_init_script(CHARTS_DRAWN_PROBE)
        page = context.new_page()
        page.goto(f"{url}/login/")
        page.fill("#id_username", plan["username"])
        page.fill("#id_password", plan["password"])
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert "/login/" not in page.url, "browser log-in failed"
        for run in range(runs + 1):
            for combo in combos:
                page.goto("about:blank")
                try:
                    page.goto(url + page_path(plan["slug"], *combo), wait_until="commit", timeout=BROWSER_TIMEOUT_MS)
                    page.wait_for_selector("body[data-charts-drawn]", state="attached", timeout=BROWSER_TIMEOUT_MS)
                except PlaywrightError:  # a page that never says its charts are drawn counts as a miss
                    failed[combo] += run > 0
                    continue
                drawn, response_end, dom_ready, count = page.evaluate(READ_TIMES)
                charts[combo] = count
                if run:  # the first round fills the HTTP cache
                    results[combo].append([drawn, response_end, dom_ready])
        browser.close()
    return {combo: (results[combo], charts.get(combo, "?"), failed[combo]) for combo in combos}


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=30, help="server GETs per page and range")
    parser.add_argument("--browser-runs", type=int, default=10, help="browser navigations per page and range")
    parser.add_argument("--ranges", default="15m,1h,6h,24h,7d,30d", help="ranges timed on the server")
    parser.add_argument("--browser-ranges", default="24h,30d", help="ranges timed in the browser")
    parser.add_argument("--clients", type=int, default=12, help="concurrent clients posting the load")
    parser.add_argument("--data", type=Path, help="keep the data folder here and reuse it on the next run")
    parser.add_argument("--filter", default="service=research", help="the filter of the filtered views timed")
    parser.add_argument("--filtered-runs", type=int, default=5, help="GETs per filtered view and range")
    parser.add_argument("--filtered-ranges", default="1h,24h,7d,30d", help="ranges of the filtered views")
    args = parser.parse_args()
    ranges = [r for r in args.ranges.split(",") if r]
    browser_ranges = [r for r in args.browser_ranges.split(",") if r]

    folder = args.data.resolve() if args.data else None
    plan = kept_plan(folder, args.records)
    os.environ["RAW_RETENTION_DAYS"] = str(DAYS + 1)
    with PagesStack(folder) as stack:
        began = time.monotonic()
        if plan is None:
            print(f"loading {args.records:,} records spread over {DAYS} days into {stack.folder} ...", flush=True)
            plan = set_up(stack, args.records)
            bodies = batches(0, args.records, plan)
            accepted, failures = post(stack.url, plan["ingest_key"], bodies, args.clients)
            del bodies
            plan["next_index"] = args.records
            print(f"ingested {accepted:,} records ({failures} failed) in {time.monotonic() - began:.0f} s", flush=True)
            wait_for_rollups(stack.database_url)
            print(f"rolled up {time.monotonic() - began:.0f} s after the first post", flush=True)
            if stack.keep:
                save_manifest(stack.folder, plan)
        else:
            print(f"reusing the {args.records:,} records loaded in {stack.folder}", flush=True)
        # Up to the current second, so that the last hour and the live tiles have their calls.
        top_up_began = time.monotonic()
        end = due(plan, time.time())
        accepted, failures = post(stack.url, plan["ingest_key"], batches(plan["next_index"], end, plan), args.clients)
        plan["next_index"] = end
        wait_for_rollups(stack.database_url)
        print(f"topped up {accepted:,} records to now ({failures} failed), rolled up in "
              f"{time.monotonic() - top_up_began:.0f} s", flush=True)  # fmt: skip
        if stack.keep:
            save_manifest(stack.folder, plan)

        with connect(stack.database_url) as conn:
            found = conn.execute(
                "SELECT count(*) FROM catalogue_series s JOIN projects_project p ON p.id = s.project_id"
                " WHERE p.slug = %s",
                [plan["slug"]],
            ).fetchone()
        to = int(time.time())
        report = httpx.get(
            f"{stack.url}/api/v1/report", params={"from": to - DAYS * 86_400, "to": to},
            headers={"Authorization": f"Bearer {plan['read_key']}"}, timeout=60,
        ).json()  # fmt: skip
        counted = sum(row["requests"] for row in report["rows"])
        print(f"data       {counted:,} calls in the last {DAYS} days, {found[0] if found else 0} series, 3 tiers",
              flush=True)  # fmt: skip

        print(f"cpu        {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} as the timing starts",
              flush=True)  # fmt: skip
        trickle = Trickle(stack.url, plan)
        trickle.start()
        try:
            client = log_in(stack.url, plan)
            try:
                server = time_server(client, plan["slug"], ranges, args.runs)
                filtered = {}
                if args.filtered_runs:
                    filtered = time_server(client, plan["slug"], [r for r in args.filtered_ranges.split(",") if r],
                                           args.filtered_runs, f"&{args.filter}", ("overview", "detail"))  # fmt: skip
            finally:
                client.close()
            print()
            for (name, range_key), (times, size) in server.items():
                p50, p95 = percentiles(times)
                print(f"page {name:<8} range {range_key:>3}  server p50 {p50:5.0f} ms  p95 {p95:5.0f} ms"
                      f"   ({size / 1024:,.0f} KiB of HTML)", flush=True)  # fmt: skip
            if filtered:
                # A filter on a dimension the page does not group by: no per-group rollups
                # answer it (docs/performance.md, "Filtered views"). Shown, not judged.
                print(f"\nfiltered views (?{args.filter}, by a dimension the page does not group by):")
            for (name, range_key), (times, _) in filtered.items():
                p50, p95 = percentiles(times)
                print(f"filtered {name:<8} range {range_key:>3}  server p50 {p50:5.0f} ms  p95 {p95:5.0f} ms",
                      flush=True)  # fmt: skip
            browser = time_browser(stack.url, plan, browser_ranges, args.browser_runs)
        finally:
            trickle.stop()
            if stack.keep:
                save_manifest(stack.folder, plan)
    print()
    for (name, range_key), (rows, count, failed) in browser.items():
        if not rows:
            print(f"browser {name:<8} {range_key:>3}  charts never drawn ({failed} of {args.browser_runs} runs)")
            continue
        drawn = percentiles([r[0] / 1000 for r in rows])
        response = percentiles([r[1] for r in rows])
        ready = percentiles([r[2] / 1000 for r in rows])
        missed = f", {failed} runs never drawn" if failed else ""
        print(f"browser {name:<8} {range_key:>3}  charts drawn p50 {drawn[0]:4.2f} s  p95 {drawn[1]:4.2f} s"
              f"   ({count} chart{'' if count == '1' else 's'}; response p50 {response[0]:4.0f} ms,"
              f" DOMContentLoaded p50 {ready[0]:4.2f} s{missed})")  # fmt: skip

    print()
    worst_server = max(server.items(), key=lambda item: percentiles(item[1][0])[1])
    (s_name, s_range), (s_times, _) = worst_server
    s_p95 = percentiles(s_times)[1]
    print(f"server     worst p95 {s_p95:.0f} ms ({s_name} {s_range}), goal ≤ {SERVER_GOAL_MS:.0f} ms on every page "
          f"and range: {'PASS' if s_p95 <= SERVER_GOAL_MS else 'FAIL'}")  # fmt: skip
    drawn_p95 = {combo: percentiles([r[0] / 1000 for r in rows])[1] if rows and not failed else math.inf
                 for combo, (rows, _, failed) in browser.items()}  # fmt: skip
    if drawn_p95:  # --browser-ranges "" times the server alone
        (b_name, b_range), b_p95 = max(drawn_p95.items(), key=lambda item: item[1])
        print(f"browser    worst p95 {b_p95:.2f} s ({b_name} {b_range}), goal ≤ {BROWSER_GOAL_S:.0f} s from "
              f"navigation to charts drawn: {'PASS' if b_p95 <= BROWSER_GOAL_S else 'FAIL'}")  # fmt: skip
    if trickle.failures:
        print(f"(the fleet's calls while timing: {trickle.failures} batches refused)")


if __name__ == "__main__":
    main()
