"""Reading the declared variables from the environment: :func:`load` → :class:`Settings`, all validated."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

from .declared import BY_ATTRIBUTE, SETTINGS, Setting
from .kinds import TEXT


class Settings:
    """The platform's settings, one attribute per declared variable (``SPOTIFY_LAKE_URI`` → ``lake_uri``).

    Immutable. Secret values are held (the Spotify client needs them) but never shown: ``repr`` says
    ``<redacted>``, and the Dagster resources pass secrets on as ``dg.EnvVar`` (see :meth:`is_set`).
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]):
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, attribute: str) -> Any:
        try:
            return self._values[BY_ATTRIBUTE[attribute].name]
        except KeyError:
            raise AttributeError(f"no setting {attribute!r} (declared in spotify_assets.settings.declared)") from None

    def __setattr__(self, attribute: str, value: Any) -> None:
        raise AttributeError("settings are read-only: set the environment variable and load them again")

    def value(self, name: str) -> Any:
        """The value of the variable ``name`` (``SPOTIFY_…``)."""
        return self._values[name]

    def is_set(self, name: str) -> bool:
        """Whether ``name`` has a value (set and not blank, or a default)."""
        return self._values[name] is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and other._values == self._values

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._values.items(), key=lambda item: item[0])))

    def __repr__(self) -> str:
        shown = ", ".join(f"{s.attribute}={_shown(s, self._values[s.name])}" for s in SETTINGS)
        return f"Settings({shown})"

    __str__ = __repr__


def _shown(setting: Setting, value: Any) -> str:
    return ("<redacted>" if value is not None else "None") if setting.secret else repr(value)


def _read(setting: Setting, raw: str | None) -> Any:
    raw = raw or ""
    if not raw.strip():
        return setting.default
    # text is kept as given (a name with a stray newline is the preflight's to reject, not ours to mend)
    return setting.kind.read(setting.name, raw if setting.kind is TEXT else raw.strip(), secret=setting.secret)


@functools.lru_cache(maxsize=16)
def _parse(raw: tuple[str | None, ...]) -> Settings:
    return Settings({s.name: _read(s, value) for s, value in zip(SETTINGS, raw, strict=True)})


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings as the environment (``os.environ`` unless given) holds them now, every variable
    validated: a bad value raises :class:`~spotify_assets.settings.errors.ConfigurationError` naming it.

    Cheap: the parsed settings are cached by the variables' raw values, so callers read them where they
    need them instead of keeping copies; a changed variable is seen at the next call.
    """
    environ = os.environ if environ is None else environ
    return _parse(tuple(environ.get(s.name) for s in SETTINGS))
