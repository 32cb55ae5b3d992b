"""Dagster resource that hands assets a :class:`Lake` for ``SPOTIFY_LAKE_URI``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg
from pydantic import PrivateAttr

from .. import settings
from ..settings import BY_NAME, ConfigurationError
from .preflight import check_lake
from .storage import Lake


@contextlib.contextmanager
def settings_checked() -> Iterator[None]:
    """Turn a wrong setting (:class:`~spotify_assets.settings.ConfigurationError`, whose message names it)
    into a step failure that is retried neither by the step's retry policy nor by a run retry (the failure
    hook sees ``allow_retries=False``): no retry can fix a setting."""
    try:
        yield
    except ConfigurationError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error


class LakeResource(dg.ConfigurableResource):
    """The data lake: a local directory (default ``./data/lake``) or ``s3://bucket/prefix``.

    ``endpoint_url`` and ``region`` override what :mod:`spotify_assets.aws.clients` resolves from the environment
    (``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``, ``AWS_REGION``).
    """

    root_uri: str = BY_NAME["SPOTIFY_LAKE_URI"].default
    endpoint_url: str | None = None
    region: str | None = None

    _lake: Lake | None = PrivateAttr(default=None)
    _checked: bool = PrivateAttr(default=False)

    @classmethod
    def from_env(cls) -> LakeResource:
        """From ``SPOTIFY_LAKE_URI`` (default ``./data/lake``); AWS settings are resolved when the lake is used."""
        return cls(root_uri=settings.load().lake_uri)

    def get_lake(self) -> Lake:
        if self._lake is None:
            self._lake = Lake(self.root_uri, endpoint_url=self.endpoint_url, region=self.region)
        return self._lake

    def ready_lake(self) -> Lake:
        """The lake, once its setting is checked (:func:`~spotify_assets.lake.preflight.check_lake`, once per
        step): what every step that reads or writes the lake calls first. A lake URI that names a file, a
        folder that cannot be written or a missing bucket fails the step at once, naming
        ``SPOTIFY_LAKE_URI``, and is not retried; an S3 endpoint that does not answer is (an ``OSError``)."""
        with settings_checked():
            try:
                lake = self.get_lake()
            except ValueError as error:  # "s3://" without a bucket
                raise ConfigurationError(str(error)) from None
            if not self._checked:
                check_lake(lake)
                self._checked = True
        return lake
