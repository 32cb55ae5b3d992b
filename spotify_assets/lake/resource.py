"""Dagster resource that hands assets a :class:`Lake` for ``SPOTIFY_LAKE_URI``."""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

from .storage import Lake


class LakeResource(dg.ConfigurableResource):
    """The data lake: a local directory (default ``./data/lake``) or ``s3://bucket/prefix``."""

    root_uri: str = "./data/lake"
    endpoint_url: str | None = None
    region: str | None = None

    _lake: Lake | None = PrivateAttr(default=None)

    def get_lake(self) -> Lake:
        if self._lake is None:
            self._lake = Lake(self.root_uri, endpoint_url=self.endpoint_url, region=self.region)
        return self._lake
