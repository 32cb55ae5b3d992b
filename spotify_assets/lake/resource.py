"""Dagster resource that hands assets a :class:`Lake` for ``SPOTIFY_LAKE_URI``."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import PrivateAttr

from .storage import Lake


class LakeResource(dg.ConfigurableResource):
    """The data lake: a local directory (default ``./data/lake``) or ``s3://bucket/prefix``."""

    root_uri: str = "./data/lake"
    endpoint_url: str | None = None
    region: str | None = None

    _lake: Lake | None = PrivateAttr(default=None)

    @classmethod
    def from_env(cls) -> LakeResource:
        """From ``SPOTIFY_LAKE_URI`` (default ``./data/lake``), ``AWS_ENDPOINT_URL`` and ``AWS_REGION``."""
        return cls(
            root_uri=os.environ.get("SPOTIFY_LAKE_URI") or "./data/lake",
            endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
            region=os.environ.get("AWS_REGION") or None,
        )

    def get_lake(self) -> Lake:
        if self._lake is None:
            self._lake = Lake(self.root_uri, endpoint_url=self.endpoint_url, region=self.region)
        return self._lake
