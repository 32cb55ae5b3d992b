"""``listening_report`` of the project's definitions, materialized after importing an emulator export: the HTML
page in the lake (local and S3), self-contained, with the four charts; the charts inline in the asset's
metadata; an empty report on a fresh instance; a wrong time zone setting named."""

from __future__ import annotations

import base64
import datetime as dt
import re
import shutil
import uuid
from pathlib import Path

import dagster as dg
import pytest

from spotify_assets.commands.import_history import run_import
from spotify_assets.defs.insights.listening_report import REPORT_PATH
from spotify_assets.emulator.export import write_export
from spotify_assets.lake.storage import Lake
from spotify_assets_tests.report.pages import CHART_KEYS, assert_self_contained, charts_in

REPO = Path(__file__).resolve().parents[2]
# Two and a half years of the emulator's demo user: several years for the top artists, a few thousand streams.
NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
FIRST_DAY = dt.date(2022, 1, 1)


@pytest.fixture
def env(tmp_path, monkeypatch):
    """The environment of ``make import-history``: a lake, a DuckDB file and a Dagster instance on disk."""
    for name in ("SPOTIFY_REPORT_TIMEZONE", "SPOTIFY_SCHEDULE_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPOTIFY_ASSETS_ENV", "local")
    monkeypatch.setenv("SPOTIFY_LAKE_URI", str(tmp_path / "lake"))
    monkeypatch.setenv("SPOTIFY_DUCKDB_PATH", str(tmp_path / "spotify.duckdb"))
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.local.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return tmp_path


def _export(path: Path):
    return write_export(path, scale="tiny", now=NOW, first_day=FIRST_DAY, target_streams=2000)


def _report_event(result) -> dict:
    (event,) = result.asset_materializations_for_node("listening_report")
    return {k: v.value for k, v in event.metadata.items()}


def _failure(result) -> str:
    return "; ".join(str(e.event_specific_data.error) for e in result.all_events if e.event_type_value == "STEP_FAILURE")


def test_the_report_of_an_imported_export_is_in_the_lake_and_on_the_asset(env, monkeypatch):
    monkeypatch.setenv("SPOTIFY_REPORT_TIMEZONE", "Europe/Berlin")
    truth = _export(env / "my_spotify_data.zip")
    result = run_import(str(env / "my_spotify_data.zip"), instance=dg.DagsterInstance.get())
    assert result.success, _failure(result)
    listens = result.asset_materializations_for_node("listens")[0].metadata["dagster/row_count"].value
    meta = _report_event(result)

    html_file = Path(meta["report_html"])
    assert html_file == env / "lake" / REPORT_PATH and html_file.is_file()
    page = html_file.read_text(encoding="utf-8")
    assert_self_contained(page)
    assert charts_in(page) == list(CHART_KEYS)  # the four chart families, each an embedded PNG
    assert meta["html_bytes"] == html_file.stat().st_size
    assert not list((env / "lake" / "_staging" / "_tmp").glob("*"))  # written whole, nothing left behind

    # every stream of the export is a listen the report covers (no hourly plays in this lake)
    assert meta["dagster/row_count"] == meta["listens"] == listens == len(truth.streams)
    assert meta["timezone"] == "Europe/Berlin"
    assert meta["first_listen"] < meta["last_listen"] <= NOW.timestamp()
    assert dt.datetime.fromtimestamp(meta["first_listen"], dt.UTC).date() >= FIRST_DAY
    assert "listens of" in meta["summary"] and "(Europe/Berlin)" in meta["summary"]
    # the charts inline in the metadata, as the UI renders them
    assert [k for k in meta if k.startswith("chart/")] == [f"chart/{k}" for k in CHART_KEYS]
    for key in CHART_KEYS:
        match = re.fullmatch(r"!\[[^\]]*\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", meta[f"chart/{key}"])
        assert match and base64.b64decode(match.group(1)).startswith(b"\x89PNG\r\n\x1a\n"), key


def test_on_a_fresh_instance_the_report_says_there_is_nothing_yet(env):
    from spotify_assets.definitions import build_definitions

    job = build_definitions().resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey("listening_report")})
    result = job.execute_in_process(instance=dg.DagsterInstance.get(), raise_on_error=False)
    assert result.success, _failure(result)
    meta = _report_event(result)
    assert meta["dagster/row_count"] == 0 and "Nothing to show yet" in meta["summary"]
    assert not [k for k in meta if k.startswith("chart/")]
    page = Path(meta["report_html"]).read_text(encoding="utf-8")
    assert "Nothing to show yet" in page and "<img" not in page
    assert_self_contained(page)


def test_a_time_zone_that_does_not_exist_fails_naming_the_setting(env, monkeypatch):
    from spotify_assets.definitions import build_definitions
    from spotify_assets.settings import ConfigurationError

    monkeypatch.setenv("SPOTIFY_REPORT_TIMEZONE", "Europe/Atlantis")
    with pytest.raises(ConfigurationError, match="SPOTIFY_REPORT_TIMEZONE='Europe/Atlantis'"):
        build_definitions()  # the code location does not load
    # set wrong after the location loaded: the step fails, naming it, and writes nothing
    monkeypatch.delenv("SPOTIFY_REPORT_TIMEZONE")
    job = build_definitions().resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey("listening_report")})
    monkeypatch.setenv("SPOTIFY_REPORT_TIMEZONE", "Europe/Atlantis")
    result = job.execute_in_process(instance=dg.DagsterInstance.get(), raise_on_error=False)
    assert not result.success
    assert "SPOTIFY_REPORT_TIMEZONE" in _failure(result) and "Europe/Atlantis" in _failure(result)
    assert not (env / "lake" / REPORT_PATH).exists()


def test_the_schedules_time_zone_is_the_default(env, monkeypatch):
    from spotify_assets.defs.insights.listening_report import report_timezone

    assert report_timezone() == "UTC"
    monkeypatch.setenv("SPOTIFY_SCHEDULE_TIMEZONE", "America/New_York")
    assert report_timezone() == "America/New_York"
    monkeypatch.setenv("SPOTIFY_REPORT_TIMEZONE", "Asia/Tokyo")
    assert report_timezone() == "Asia/Tokyo"


def test_on_aws_the_report_lands_in_the_s3_lake(aws_env, s3_bucket, monkeypatch, tmp_path):
    monkeypatch.setenv("SPOTIFY_ASSETS_ENV", "aws")
    monkeypatch.setenv("SPOTIFY_LAKE_URI", f"s3://{s3_bucket}/lake")
    monkeypatch.setenv("SPOTIFY_GLUE_DATABASE", f"spotify_{uuid.uuid4().hex[:8]}")
    monkeypatch.delenv("SPOTIFY_REPORT_TIMEZONE", raising=False)
    _export(tmp_path / "my_spotify_data.zip")
    result = run_import(str(tmp_path / "my_spotify_data.zip"), instance=dg.DagsterInstance.ephemeral())
    assert result.success, _failure(result)
    meta = _report_event(result)
    assert meta["report_html"] == f"s3://{s3_bucket}/lake/{REPORT_PATH}"
    lake = Lake(f"s3://{s3_bucket}/lake")
    page = lake.read_bytes(REPORT_PATH).decode("utf-8")
    assert len(page.encode()) == meta["html_bytes"]
    assert_self_contained(page)
    assert charts_in(page) == list(CHART_KEYS)
    assert not lake.list_files("_staging/_tmp", include_hidden=True)
