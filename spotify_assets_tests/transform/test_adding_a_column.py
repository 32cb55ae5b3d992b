"""Adding a column is one :class:`~spotify_assets.tables.Column` with a ``path``: both transform paths fill
it (the three-way comparison of this folder's conftest runs on every transform here), and Glue's columns
and the UI's column schema show it."""

from __future__ import annotations

import pyarrow as pa
import pytest

from spotify_assets.defs.metadata import column_schema
from spotify_assets.tables import TABLES, Column
from spotify_assets.transform.pipeline import transform_partition
from spotify_assets.warehouse.glue import GlueCatalog

from .conftest import PARTITION, env, item, page, playlist, sid, track

URI = Column("uri", pa.string(), "Spotify URI of the track.", path="uri")
OWNER_NAME = Column("owner_name", pa.string(), "Display name of the playlist's owner.", path="owner.display_name")


@pytest.fixture
def added_columns(monkeypatch):
    """The one edit a developer makes (here, for the test's lifetime)."""
    monkeypatch.setitem(TABLES, "tracks", TABLES["tracks"].with_columns(URI))
    monkeypatch.setitem(TABLES, "playlists", TABLES["playlists"].with_columns(OWNER_NAME))


def test_an_added_column_is_filled_on_both_paths(added_columns, lake, raw):
    p1 = sid("pl1")
    raw.write("playlists", [env(f"/v1/playlists/{p1}", playlist("pl1", [item(track("t1")), item(track("t2"))], total=3))])
    raw.write("playlist_items", [env(f"/v1/playlists/{p1}/tracks?offset=2", page([item(track("t3"))], offset=2))])
    wrong = track("t4")
    wrong["uri"] = 42  # a wrong type in the new column quarantines the track, like any other column
    raw.write("tracks", [env("/v1/tracks?ids=", {"tracks": [track("t5"), wrong]})])

    r = transform_partition(lake, PARTITION)

    tracks = r.tables["tracks"]
    assert tracks.schema.field("uri").type == pa.string()
    assert dict(zip(tracks["track_id"].to_pylist(), tracks["uri"].to_pylist(), strict=True)) == {
        sid(t): f"spotify:track:{sid(t)}" for t in ("t1", "t2", "t3", "t5")
    }
    assert [q["reason"] for q in r.quarantine["tracks"]] == ["uri has type int, expected string"]
    assert r.tables["playlists"]["owner_name"].to_pylist() == ["Owner"]


def test_an_added_column_reaches_glue_and_the_ui(added_columns):
    spec = TABLES["tracks"]
    glue = GlueCatalog(database="spotify", lake_uri="s3://lake/x", client=object())
    columns = glue.table_input(spec)["StorageDescriptor"]["Columns"]
    assert columns[-1] == {"Name": "uri", "Type": "string", "Comment": "Spotify URI of the track."}
    ui = {c.name: c for c in column_schema(spec).columns}
    assert ui["uri"].type == "string" and ui["uri"].description == "Spotify URI of the track."
