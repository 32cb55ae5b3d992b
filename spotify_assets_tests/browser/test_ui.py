"""The Dagster UI end to end in headless Chromium: lineage, the schedules and sensors on the Automation page
with their next tick, a materialization, an asset page.

Runs ``dg dev`` (as ``make dev`` does) on a loopback port with a temporary DAGSTER_HOME and
lake (no Spotify credentials: the bundled emulator serves the crawl). Screenshots of every step go to
``test-artifacts/browser/``. The modules in this file run in order and share one server.
"""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest

from spotify_assets.defs.partitions import today_utc

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

GROUPS = ("raw", "transformed", "catalog", "analytics")
RUN_TIMEOUT_S = 150
# The launch dialog runs the materialization with the in-process executor: the default multiprocess
# executor starts one Python process per step (35 steps with the asset checks), ~100 s on 2 cores,
# against ~10 s in process. What the test checks (UI launch → run → results) is the same.
IN_PROCESS_CONFIG = "execution:\n  config:\n    in_process: {}\n"

_state: dict = {}


def _wait_text(page, text: str, timeout: float = 30_000):
    page.get_by_text(text, exact=True).first.wait_for(state="visible", timeout=timeout)


def test_lineage_shows_groups_in_order_with_edges(page, dagster_ui, screenshot):
    page.goto(f"{dagster_ui.url}/asset-groups", wait_until="domcontentloaded")
    page.get_by_role("button", name=re.compile("Materialize all")).wait_for(timeout=60_000)
    for group in GROUPS:
        _wait_text(page, group)
    page.wait_for_timeout(1500)  # the graph layout animates in
    edges = page.locator("svg path").count()
    screenshot(page, "01-global-lineage")
    assert edges >= 3, f"expected edges between the 4 groups in the lineage SVG, found {edges} paths"

    # The groups' on-screen order left to right is raw → transformed → catalog → analytics.
    xs = {}
    for group in GROUPS:
        boxes = [b for b in (n.bounding_box() for n in page.get_by_text(group, exact=True).all()) if b]
        xs[group] = max(b["x"] for b in boxes)  # the graph node is right of the sidebar entry
    assert sorted(GROUPS, key=xs.get) == list(GROUPS), f"group x positions: {xs}"

    # The asset graph itself, from the GraphQL API the UI uses.
    nodes = dagster_ui.graphql("{ assetNodes { assetKey { path } groupName dependencyKeys { path } } }")[
        "assetNodes"
    ]
    group_of = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
    group_edges = {
        (group_of["/".join(d["path"])], n["groupName"])
        for n in nodes
        for d in n["dependencyKeys"]
        if group_of.get("/".join(d["path"])) != n["groupName"]
    }
    assert {("raw", "transformed"), ("transformed", "catalog"), ("catalog", "analytics"),
            ("transformed", "insights")} <= group_edges
    # insights and the listening history (listens follow the plays) hang off the transformed tables
    order = {**{g: i for i, g in enumerate(GROUPS)}, "insights": GROUPS.index("transformed") + 1,
             "history": GROUPS.index("transformed") + 1}
    assert ("transformed", "history") in group_edges
    assert all(order[a] < order[b] for a, b in group_edges), f"an edge points upstream: {group_edges}"
    assert {"raw_tracks", "tracks", "daily_top_tracks"} <= set(group_of)
    # exactly tracks' catalog entry (catalog_top_tracks and catalog_saved_tracks are not its neighbours)
    catalog_tracks = [k for k, g in group_of.items() if g == "catalog" and k.rsplit("/", 1)[-1] == "catalog_tracks"]
    _state["catalog_tracks"] = catalog_tracks[0] if catalog_tracks else None

    # One asset's neighbourhood: raw sources upstream of tracks, the catalog table downstream.
    page.goto(f"{dagster_ui.url}/assets/tracks?view=lineage", wait_until="domcontentloaded")
    _wait_text(page, "raw_tracks", timeout=60_000)
    if _state["catalog_tracks"]:
        _wait_text(page, _state["catalog_tracks"])
    page.wait_for_timeout(1000)
    screenshot(page, "02-tracks-lineage")


def _next_tick(after: dt.datetime, minute: int, hour: int | None = None) -> dt.datetime:
    """The next time after ``after`` (UTC) that cron ``minute hour * * *`` (hour None: every hour) fires."""
    tick = after.replace(second=0, microsecond=0, minute=minute)
    if hour is not None:
        tick = tick.replace(hour=hour)
    step = dt.timedelta(hours=1 if hour is None else 24)
    while tick <= after:
        tick += step
    return tick


def test_automation_page_shows_the_schedules_their_next_tick_and_the_sensors(page, dagster_ui, screenshot):
    page.goto(f"{dagster_ui.url}/automation", wait_until="domcontentloaded")
    for name in ("daily_crawl_schedule", "recent_plays_schedule", "raw_landing_sensor", "automation_sensor",
                 "run_failure_alert"):
        _wait_text(page, name, timeout=60_000)
    page.wait_for_timeout(500)
    screenshot(page, "03-automation")
    # Stopped by default (SPOTIFY_AUTOMATION_DEFAULT_ON unset): a laptop must not crawl on its own.
    now = dt.datetime.now(dt.UTC)
    data = dagster_ui.graphql(
        "{ repositoriesOrError { ... on RepositoryConnection { nodes { "
        "schedules { name cronSchedule executionTimezone scheduleState { status } "
        "futureTicks(limit: 1) { results { timestamp } } } sensors { name sensorState { status } } } } } }"
    )
    repo = data["repositoriesOrError"]["nodes"][0]
    states = {s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]}
    states.update({s["name"]: s["sensorState"]["status"] for s in repo["sensors"]})
    assert states == dict.fromkeys(
        ("daily_crawl_schedule", "recent_plays_schedule", "raw_landing_sensor", "automation_sensor",
         "run_failure_alert"), "STOPPED")
    schedules = {s["name"]: s for s in repo["schedules"]}
    assert {n: (s["cronSchedule"], s["executionTimezone"]) for n, s in schedules.items()} == {
        "daily_crawl_schedule": ("0 6 * * *", "UTC"), "recent_plays_schedule": ("5 * * * *", "UTC")}
    next_ticks = {n: dt.datetime.fromtimestamp(s["futureTicks"]["results"][0]["timestamp"], dt.UTC)
                  for n, s in schedules.items()}
    assert next_ticks == {"daily_crawl_schedule": _next_tick(now, 0, 6), "recent_plays_schedule": _next_tick(now, 5)}

    # A person opens the crawl's schedule, switches it on and sees when it next ticks; then off again.
    page.get_by_text(re.compile(r"Scheduled At 06:00 AM UTC")).first.wait_for(state="visible")
    page.get_by_text(re.compile(r"Scheduled At 5 minutes past the hour")).first.wait_for(state="visible")
    page.get_by_role("link", name="daily_crawl_schedule").first.click()
    page.wait_for_url(re.compile(r"/schedules/daily_crawl_schedule"), timeout=60_000)
    page.get_by_text(re.compile(r"At 06:00 AM UTC")).first.wait_for(state="visible", timeout=60_000)
    while _next_tick(dt.datetime.now(dt.UTC), 0, 6) - dt.datetime.now(dt.UTC) < dt.timedelta(minutes=2):
        time.sleep(10)  # never switched on just before its tick: the test must not launch a crawl
    switch = page.get_by_role("checkbox").first  # "Running" (a styled switch: its input is not clickable)
    switch.dispatch_event("click")
    tick = _next_tick(dt.datetime.now(dt.UTC), 0, 6)
    shown = f"{tick:%b} {tick.day}, {tick.hour % 12 or 12}:{tick:%M:%S} {'AM' if tick.hour < 12 else 'PM'} UTC"
    page.get_by_text("Next tick", exact=True).wait_for(state="visible", timeout=30_000)
    _wait_text(page, shown)
    page.wait_for_timeout(500)
    screenshot(page, "03b-daily-crawl-schedule-next-tick")
    switch.dispatch_event("click")
    page.get_by_text("Next tick", exact=True).wait_for(state="hidden", timeout=30_000)
    status = dagster_ui.graphql(
        "{ repositoriesOrError { ... on RepositoryConnection { nodes { schedules { name scheduleState { status } } } } } }"
    )["repositoriesOrError"]["nodes"][0]["schedules"]
    assert {s["name"]: s["scheduleState"]["status"] for s in status}["daily_crawl_schedule"] == "STOPPED"

    # Below the raw zone, what runs when is each asset's automation condition.
    conditions = dagster_ui.graphql(
        "{ assetNodes { assetKey { path } automationCondition { label } } }"
    )["assetNodes"]
    label = {"/".join(n["assetKey"]["path"]): (n["automationCondition"] or {}).get("label") for n in conditions}
    assert label["raw_tracks"] is None and label["raw_plays"] is None  # the schedules run them
    assert label["tracks"] == "follow parents once the day's crawl landed"
    assert label["catalog_tracks"] == "follow parents whose blocking checks passed"


def _runs(dagster_ui) -> list[dict]:
    data = dagster_ui.graphql(
        "{ runsOrError(limit: 20) { ... on Runs { results { runId status jobName tags { key value } } } } }"
    )
    return data["runsOrError"]["results"]


def _run_errors(dagster_ui, run_id: str) -> str:
    data = dagster_ui.graphql(
        "query($id: ID!) { logsForRun(runId: $id, limit: 2000) { ... on EventConnection { events { "
        "__typename ... on MessageEvent { message stepKey } } } } }",
        {"id": run_id},
    )
    events = data["logsForRun"].get("events", [])
    failures = [e for e in events if e["__typename"] in ("ExecutionStepFailureEvent", "RunFailureEvent")]
    return "\n".join(f"{e.get('stepKey')}: {e.get('message')}" for e in failures[-5:])


def test_materialize_todays_partition_from_the_ui(page, dagster_ui, screenshot):
    today = today_utc()
    before = {r["runId"] for r in _runs(dagster_ui)}
    page.goto(f"{dagster_ui.url}/asset-groups", wait_until="domcontentloaded")
    page.get_by_role("button", name=re.compile("Materialize all")).click(timeout=60_000)
    dialog = page.get_by_role("dialog").filter(has_text="Launch runs to materialize")
    dialog.wait_for()
    dialog.get_by_role("button", name="Latest", exact=True).click()
    dialog.get_by_text(today, exact=False).first.wait_for()
    dialog.get_by_text("1 partition", exact=True).wait_for()

    dialog.get_by_text("Config", exact=True).click()
    dialog.get_by_role("button", name="Add config").click()
    editor = page.get_by_role("dialog").filter(has_text="Config Editor")
    editor.wait_for()
    editor.locator(".CodeMirror").first.wait_for(state="attached")
    page.evaluate(
        """(cfg) => {
            const cms = [...document.querySelectorAll('.CodeMirror')].filter(e => e.offsetParent && e.CodeMirror);
            cms[cms.length - 1].CodeMirror.setValue(cfg);
        }""",
        IN_PROCESS_CONFIG,
    )
    editor.get_by_text("No errors").wait_for()
    screenshot(page, "04-config-editor")
    editor.get_by_role("button", name="Save config").click()
    editor.wait_for(state="hidden")
    page.wait_for_timeout(500)  # the dialog's closing transition
    launch = dialog.get_by_role("button", name="Launch 1 run")
    launch.wait_for()
    screenshot(page, "05-launch-dialog")
    launch.click()
    page.get_by_text(re.compile(r"Launched run")).first.wait_for(timeout=30_000)
    screenshot(page, "06-launched")

    deadline = time.monotonic() + RUN_TIMEOUT_S
    run = None
    while time.monotonic() < deadline:
        new = [r for r in _runs(dagster_ui) if r["runId"] not in before]
        mine = [r for r in new if {t["key"]: t["value"] for t in r["tags"]}.get("dagster/partition") == today]
        if mine:
            run = mine[0]
            if run["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
                break
        time.sleep(2)
    assert run is not None, f"no run for partition {today} appeared:\n{dagster_ui.log_tail()}"
    page.goto(f"{dagster_ui.url}/runs/{run['runId']}", wait_until="domcontentloaded")
    page.get_by_text(f"partition: {today}", exact=False).first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)
    screenshot(page, "07-run")
    assert run["status"] == "SUCCESS", (
        f"run {run['runId']} ended {run['status']}:\n{_run_errors(dagster_ui, run['runId'])}"
    )
    _wait_text(page, "Success")
    _state["run_id"] = run["runId"]


def test_asset_page_shows_row_count_and_check_results(page, dagster_ui, screenshot):
    if "run_id" not in _state:
        pytest.skip("needs the materialization of the previous test")
    today = today_utc()
    page.goto(f"{dagster_ui.url}/assets/tracks", wait_until="domcontentloaded")
    _wait_text(page, "Row count", timeout=60_000)
    _wait_text(page, "Latest check results")
    row_count = page.get_by_text("Row count", exact=True).first.locator("xpath=following::*[1]").inner_text()
    screenshot(page, "08-asset-tracks")
    assert re.fullmatch(r"[\d,]+", row_count.strip()) and int(row_count.replace(",", "")) > 0, row_count

    page.goto(f"{dagster_ui.url}/assets/tracks?view=checks", wait_until="domcontentloaded")
    for check in ("keys_unique_and_not_null", "references_exist", "values_in_range"):
        _wait_text(page, check, timeout=30_000)
    page.wait_for_timeout(1000)
    screenshot(page, "09-asset-tracks-checks")
    succeeded = page.get_by_text("Succeeded", exact=True).count()
    assert succeeded >= 3, f"expected the tracks checks to show Succeeded, saw {succeeded}"

    data = dagster_ui.graphql(
        '{ assetNodeOrError(assetKey: {path: ["tracks"]}) { ... on AssetNode { '
        "assetMaterializations(limit: 1) { partition runId metadataEntries { label "
        "... on IntMetadataEntry { intValue } } } "
        "assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization { status } } } } "
        "} } }"
    )["assetNodeOrError"]
    latest = data["assetMaterializations"][0]
    assert latest["partition"] == today and latest["runId"] == _state["run_id"]
    rows = {e["label"]: e.get("intValue") for e in latest["metadataEntries"]}
    assert rows.get("dagster/row_count", 0) > 0, rows
    checks = {
        c["name"]: (c["executionForLatestMaterialization"] or {}).get("status")
        for c in data["assetChecksOrError"]["checks"]
    }
    assert checks and all(s == "SUCCEEDED" for s in checks.values()), checks
