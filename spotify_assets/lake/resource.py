"""Dagster resource that hands assets a :class:`Lake` for ``SPOTIFY_LAKE_URI``."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import PrivateAttr

from .storage import Lake


class LakeResource(dg.ConfigurableResource):
    """The data lake: a local directory (default ``./data/lake``) or ``s3://bucket/prefix``.

    ``endpoint_url`` and ``region`` override what :mod:`spotify_assets.aws` resolves from the environment
    (``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``, ``AWS_REGION``).
    """

    root_uri: str = "./data/lake"
    endpoint_url: str | None = None
    region: str | None = None

    _lake: Lake | None = PrivateAttr(default=None)

    @classmethod
    def from_env(cls) -> LakeResource:
        """From ``SPOTIFY_LAKE_URI`` (default ``./data/lake``); AWS settings are resolved when the lake is used."""
        return cls(root_uri=os.environ.get("SPOTIFY_LAKE_URI") or "./data/lake")

    def get_lake(self) -> Lake:
        if self._lake is None:
            self._lake = Lake(self.root_uri, endpoint_url=self.endpoint_url, region=self.region)
        return self._lake
