"""Development quota mode end to end: responses without the disputed fields (external_ids, label,
linked_from) transform, pass the checks and feed the analytics; the incremental crawl's carried album and
artist copies transform like fresh ones."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pyarrow.compute as pc
import pytest

from spotify_assets.defs.analytics.assets import analytics_tables
from spotify_assets.defs.catalog.assets import catalog_tables
from spotify_assets.defs.partitions import daily_partitions
from spotify_assets.defs.raw.spotify_crawl import raw_spotify
from spotify_assets.defs.transformed.assets import transformed_tables
from spotify_assets.lake.io_manager import LakeIOManager
from spotify_assets.lake.parquet import read_table_partitions
from spotify_assets.lake.raw import RawPartitionWriter
from spotify_assets.lake.resource import LakeResource
from spotify_assets.lake.storage import Lake
from spotify_assets.spotify.crawl import CrawlSeeds
from spotify_assets.tables import TABLES
from spotify_assets.transform.pipeline import transform_partition
from spotify_assets.warehouse.resources import WarehouseResource
from spotify_assets_tests.emulation import TEST_DAY, running_emulator, spotify_for

pytestmark = pytest.mark.slow  # end to end: subprocesses, several runs (pytest -m slow)


@pytest.fixture(params=[False, True], ids=["disputed-dropped", "disputed-kept"])
def dev_server(request):
    with running_emulator(mode="development", dev_keep_disputed_fields=request.param) as server:
        yield server, request.param


def test_transform_reads_development_days_with_and_without_the_disputed_fields(dev_server, tmp_path):
    server, kept = dev_server
    lake, day, market_day = Lake(str(tmp_path)), TEST_DAY.isoformat(), "2026-11-25"
    spotify = spotify_for(server)
    writer = RawPartitionWriter(lake, day)
    spotify.crawl(CrawlSeeds(playlist_ids=[]), writer)
    writer.commit()
    # Another day: one playlist as a tool asking with a market would land it (relinked tracks).
    owned = server.catalog_summary()["demo_owned_playlist_ids"][0]
    client = spotify.get_client()
    other = RawPartitionWriter(lake, market_day, name="market-tool")
    first = client.get(f"playlists/{owned}", {"market": "SE"})
    other.write("playlists", first.envelope())
    for offset in range(len(first.body["items"]["items"]), first.body["items"]["total"], 50):
        other.write("playlist_items", client.get(f"playlists/{owned}/items",
                                                 {"limit": 50, "offset": offset, "market": "SE"}).envelope())
    other.commit()
    client.close()

    result = transform_partition(lake, day)
    assert result.quarantined == 0
    tracks, albums = result.tables["tracks"], result.tables["albums"]
    assert tracks.num_rows and albums.num_rows
    assert tracks["popularity"].null_count == tracks.num_rows  # development mode either way
    nulls = (tracks["isrc"].null_count, albums["label"].null_count, albums["upc"].null_count)
    assert nulls == ((0, 0, 0) if kept else (tracks.num_rows, albums.num_rows, albums.num_rows))

    market = transform_partition(lake, market_day)
    assert market.quarantined == 0
    items = market.tables["playlist_items"]
    # item_id is the returned (playable) copy either way; only with linked_from is the original id known
    relinked_copies = [i for i in items["item_id"].drop_null().to_pylist()
                       if server.music.ids.decode(i)[0] == "relinked"]
    assert relinked_copies
    original = items.filter(pc.is_valid(items["linked_from_id"]))
    if kept:
        assert sorted(original["item_id"].to_pylist()) == sorted(relinked_copies)
        assert [server.music.ids.decode(i)[0] for i in original["linked_from_id"].to_pylist()] == \
            ["track"] * original.num_rows
    else:
        assert original.num_rows == 0


def _defs(server, root) -> dg.Definitions:
    lake = LakeResource(root_uri=str(root / "lake"))
    return dg.Definitions(
        assets=[raw_spotify, transformed_tables, catalog_tables, analytics_tables],
        jobs=[dg.define_asset_job("everything", selection=dg.AssetSelection.all(), partitions_def=daily_partitions)],
        resources={"lake": lake, "spotify": spotify_for(server), "lake_io_manager": LakeIOManager(lake=lake),
                   "warehouse": WarehouseResource(env="local", lake=lake, duckdb_path=str(root / "w.duckdb"))},
    )


def test_two_development_days_through_the_whole_graph(tmp_path):
    """An unchanged library crawled on two days: day 2 looks no album or artist up (their day-1 copies are
    carried), every check passes both days, and day 2's tables equal day 1's."""
    # The crawl ages copies by the partition day against fetched_at (the wall clock): crawl today and yesterday.
    today = dt.datetime.now(dt.UTC).date()
    days = [(today - dt.timedelta(days=1)).isoformat(), today.isoformat()]
    with running_emulator(mode="development") as server:
        job = _defs(server, tmp_path).resolve_job_def("everything")
        results = [job.execute_in_process(partition_key=d, raise_on_error=False, run_config={
            "ops": {"raw_spotify": {"config": {"allow_past_partition": True}}}}) for d in days]
    for result in results:
        assert result.success
        assert [e for e in result.get_asset_check_evaluations() if not e.passed] == []
    crawl1, crawl2 = ({k: v.value for k, v in next(iter(r.asset_materializations_for_node("raw_spotify"))).metadata
                       .items()} for r in results)
    assert crawl1["crawl/albums_fetched"] == crawl2["crawl/albums_carried"] > 0
    assert crawl1["crawl/artists_fetched"] == crawl2["crawl/artists_carried"] > 0
    assert crawl2["crawl/albums_fetched"] == crawl2["crawl/artists_fetched"] == 0
    assert crawl2["crawl/records_carried_by_source.albums"] == crawl2["crawl/albums_carried"]  # single look-ups
    assert crawl2["crawl/total_requests"] == crawl2["crawl/minimum_requests"] < crawl1["crawl/total_requests"]

    lake = Lake(str(tmp_path / "lake"))
    for table in TABLES:
        first, second = (read_table_partitions(lake, table, [d]).drop(["dt"]) for d in days)
        # no plays: raw_plays is not part of this graph (and not empty is no rule for plays)
        assert (second.num_rows == 0 if table == "plays" else second.num_rows > 0) and second.equals(first), table
    assert pc.all(pc.is_null(read_table_partitions(lake, "albums", days)["label"])).as_py()
    top = read_table_partitions(lake, "daily_top_tracks", [days[1]], zone="analytics")
    assert top.num_rows and set(top["ranked_by"].to_pylist()) == {"playlist_appearances"}
