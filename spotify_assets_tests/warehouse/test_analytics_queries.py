"""One registry per analytics query: everything about a query is derived from its AnalyticsQuery spec.

The spec (``spotify_assets/tables/analytics.py``) and the SQL file are the only places a query is written;
the query listing, the parameters, the Dagster asset (lineage, columns, description, job selection), the
catalog entry and the published table follow from them. The last test adds a query the way an engineer
would — one spec, one SQL file — and checks it runs end to end without touching anything else.
"""

from __future__ import annotations

import re
import shutil

import dagster as dg
import pyarrow as pa
import pytest

from spotify_assets.lake.publication.manifests import published_file
from spotify_assets.sql import ANALYTICS, analytics_params, load_sql, materialize_analytics
from spotify_assets.sql import analytics as analytics_module
from spotify_assets.sql.analytics import SQL_DIR, placeholders
from spotify_assets.tables import ANALYTICS_QUERIES, ANALYTICS_TABLES, TABLES, AnalyticsQuery, Column

DAY = "2024-03-02"


def test_the_query_listing_is_the_specs_and_the_sql_files():
    assert ANALYTICS == tuple(ANALYTICS_QUERIES)
    assert {path.name for path in SQL_DIR.glob("*.sql")} == {q.sql_file for q in ANALYTICS_QUERIES.values()}
    assert ANALYTICS_TABLES == {name: q.table for name, q in ANALYTICS_QUERIES.items()}
    for name, query in ANALYTICS_QUERIES.items():
        assert query.name == name and set(query.reads) <= set(TABLES), name
        assert {c.name for c in query.table.columns} >= set(query.key), name


def test_the_parameters_fill_exactly_the_placeholders_of_each_sql_file():
    """No placeholder without a parameter, no declared parameter the SQL does not use."""
    for name in ANALYTICS:
        assert set(analytics_params(name, DAY)) == placeholders(load_sql(name)), name


def test_the_sql_readme_lists_every_query_with_what_it_reads():
    listing = (SQL_DIR / "README.md").read_text()
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z_]+)` \|[^|]*\| ([^|]*) \|", listing, re.M)}
    assert set(rows) == set(ANALYTICS)
    for name, query in ANALYTICS_QUERIES.items():
        assert all(table in rows[name] for table in query.reads), (name, rows[name])


def test_the_assets_jobs_and_catalog_are_derived_from_the_specs():
    from spotify_assets.definitions import defs
    from spotify_assets.defs.automation.jobs import PIPELINE
    from spotify_assets.defs.catalog.assets import catalog_asset_key

    graph = defs.resolve_asset_graph()
    analytics = {key for key in graph.get_all_asset_keys() if graph.get(key).group_name == "analytics"}
    assert analytics == {dg.AssetKey(name) for name in ANALYTICS}
    assert set(PIPELINE["analytics"]) == analytics
    for name, query in ANALYTICS_QUERIES.items():
        node = graph.get(dg.AssetKey(name))
        assert node.parent_keys == {catalog_asset_key(t) for t in query.reads}, name
        assert node.description.startswith(query.description) and query.sql_file in node.description
        schema = node.metadata["dagster/column_schema"]
        assert [c.name for c in schema.columns] == [c.name for c in query.columns], name
        assert node.metadata["dagster/table_name"] == name


def test_a_new_query_is_one_spec_and_one_sql_file(tmp_path, monkeypatch, duck, local_lake):
    """A query added as a spec plus a SQL file gets its parameters, asset, published table and view."""
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    (sql_dir / "albums_per_track_count.sql").write_text(
        "WITH day_tracks AS (SELECT album_id, track_id FROM tracks WHERE dt = {{ dt }})\n"
        "SELECT album_id, COUNT(*) AS tracks, {{ dt }} AS dt FROM day_tracks\n"
        "GROUP BY album_id HAVING COUNT(*) >= {{ min_tracks }}\n"
    )
    query = AnalyticsQuery(
        "albums_per_track_count",
        ("album_id",),
        "Albums with at least min_tracks tracks on the day.",
        (Column("album_id", pa.string(), "Spotify ID of the album.", nullable=False),
         Column("tracks", pa.int64(), "Tracks of the album that day.")),
        reads=("tracks",),
        defaults={"min_tracks": 1},
    )
    monkeypatch.setattr(analytics_module, "SQL_DIR", sql_dir)
    monkeypatch.setitem(ANALYTICS_QUERIES, query.name, query)
    load_sql.cache_clear()
    try:
        assert analytics_params(query.name, DAY, min_tracks=2) == {"dt": DAY, "min_tracks": 2}

        from spotify_assets.defs.analytics.assets import analytics_specs
        from spotify_assets.defs.catalog.assets import catalog_asset_key

        (spec,) = analytics_specs({query.name: query})
        assert spec.key == dg.AssetKey(query.name) and spec.group_name == "analytics"
        assert {dep.asset_key for dep in spec.deps} == {catalog_asset_key("tracks")}
        assert "min_tracks" in spec.metadata["sql"].value

        done = materialize_analytics(duck, query.name, DAY, lake=local_lake)
        published = published_file(local_lake, "analytics", query.name, DAY)
        assert published is not None and done.row_count > 0
        view = duck.query(f"SELECT album_id, tracks FROM {query.name} WHERE dt = '{DAY}'").table
        assert view.num_rows == done.row_count and view.schema.field("tracks").type == pa.int64()
    finally:
        load_sql.cache_clear()


def test_an_unknown_query_names_the_known_ones():
    with pytest.raises(KeyError, match="daily_top_tracks"):
        analytics_params("no_such_query", DAY)
