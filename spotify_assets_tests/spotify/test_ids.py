"""Spotify IDs are matched whole: a seed id with a trailing newline or an extra character is refused."""

from __future__ import annotations

import pytest

from spotify_assets.spotify.ids import is_spotify_id, validate_ids

GOOD_ID = "4iV5W9uYEdYUVa79Axb7Rh"


@pytest.mark.parametrize("bad", [GOOD_ID + "\n", GOOD_ID[:-1] + "\n", " " + GOOD_ID, GOOD_ID + "x", ""])
def test_ids_are_matched_whole(bad):
    assert not is_spotify_id(bad)
    with pytest.raises(ValueError, match="Invalid Spotify playlist id"):
        validate_ids("playlist", [GOOD_ID, bad])


def test_valid_ids_pass():
    assert validate_ids("track", [GOOD_ID, GOOD_ID]) == [GOOD_ID]
