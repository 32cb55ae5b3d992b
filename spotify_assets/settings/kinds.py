"""The kinds of value a setting holds: each parses the text of an environment variable or raises a
:class:`~spotify_assets.settings.errors.ConfigurationError` naming the variable and what it accepts.

An empty or blank variable counts as unset everywhere (the default applies), as a shell's ``VAR=`` means.
The kinds below read the value stripped of surrounding blanks; text is kept exactly as set.
A secret's value is never quoted back: its errors say "(value hidden)".
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any, ClassVar

from .errors import ConfigurationError


def _shown(name: str, raw: str, secret: bool) -> str:
    return f"{name} (value hidden)" if secret else f"{name}={raw!r}"


@dataclass(frozen=True)
class Kind:
    """Text: any value, as set."""

    accepts: ClassVar[str] = "any text"

    def parse(self, raw: str) -> Any:
        """The value of ``raw`` (not blank); raises ``ValueError`` with what is accepted."""
        return raw

    def read(self, name: str, raw: str, *, secret: bool = False) -> Any:
        try:
            return self.parse(raw)
        except ValueError:
            raise ConfigurationError(f"{_shown(name, raw, secret)} is not {self.accepts}") from None


TEXT = Kind()


@dataclass(frozen=True)
class Choice(Kind):
    """One of a few words, case-insensitive (stored lower-case)."""

    choices: tuple[str, ...] = ()

    def read(self, name: str, raw: str, *, secret: bool = False) -> str:
        value = raw.lower()
        if value not in self.choices:
            raise ConfigurationError(f"{_shown(name, raw, secret)} is not one of {', '.join(self.choices)}")
        return value


@dataclass(frozen=True)
class Flag(Kind):
    """On or off: ``true``/``false``, ``1``/``0``, ``yes``/``no``, ``on``/``off``."""

    accepts: ClassVar[str] = "a flag: true or false (also 1/0, yes/no, on/off)"

    def parse(self, raw: str) -> bool:
        value = raw.lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise ValueError(raw)


@dataclass(frozen=True)
class Number(Kind):
    """A number (``whole``: an integer) of at least ``minimum`` and at most ``maximum``."""

    whole: bool = False
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""

    @property
    def accepts(self) -> str:  # type: ignore[override]  # depends on the bounds
        what = "a whole number" if self.whole else "a number"
        if self.minimum is not None and self.maximum is not None:
            what += f" from {self.minimum:g} to {self.maximum:g}"
        elif self.minimum is not None:
            what += f" of at least {self.minimum:g}"
        return f"{what}{f' ({self.unit})' if self.unit else ''}"

    def parse(self, raw: str) -> float | int:
        value: float | int = int(raw) if self.whole else float(raw)
        if value != value or value in (float("inf"), float("-inf")):  # nan, inf: not a setting
            raise ValueError(raw)
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise ValueError(raw)
        return value


def whole(minimum: int, unit: str = "") -> Number:
    return Number(whole=True, minimum=minimum, unit=unit)


def number(minimum: float, unit: str = "") -> Number:
    return Number(minimum=minimum, unit=unit)


SHARE = Number(minimum=0, maximum=1, unit="a share, e.g. 0.05 for 5%")

# minute, hour, day of month, month, day of week (0 and 7: Sunday), as cron and Dagster read them
_CRON_FIELDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_NAMES = {3: ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
               4: ("sun", "mon", "tue", "wed", "thu", "fri", "sat")}
_CRON_ITEM = re.compile(r"^(\*|\w+(?:-\w+)?)(?:/(\d+))?$")


def _cron_value(text: str, field: int) -> int:
    names = _CRON_NAMES.get(field, ())
    value = names.index(text.lower()) + (1 if field == 3 else 0) if text.lower() in names else int(text)
    low, high = _CRON_FIELDS[field]
    if not low <= value <= high:
        raise ValueError(text)
    return value


@dataclass(frozen=True)
class Cron(Kind):
    """A five-field cron expression: minute hour day-of-month month day-of-week."""

    accepts: ClassVar[str] = ("a cron expression: five fields, minute (0-59) hour (0-23) day of month (1-31) month "
                    "(1-12) day of week (0-7), e.g. '0 6 * * *'")

    def parse(self, raw: str) -> str:
        fields = raw.split()
        if len(fields) != 5:
            raise ValueError(raw)
        for index, text in enumerate(fields):
            for item in text.split(","):
                match = _CRON_ITEM.match(item)
                if not match or match.group(2) == "0":
                    raise ValueError(raw)
                if match.group(1) != "*":
                    bounds = [_cron_value(part, index) for part in match.group(1).split("-")]
                    if bounds != sorted(bounds):
                        raise ValueError(raw)
        return " ".join(fields)


@dataclass(frozen=True)
class TimeZone(Kind):
    """An IANA time zone name."""

    accepts: ClassVar[str] = "an IANA time zone name, e.g. UTC or Europe/Berlin"

    def parse(self, raw: str) -> str:
        try:
            zoneinfo.ZoneInfo(raw)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(raw) from None
        return raw


@dataclass(frozen=True)
class Day(Kind):
    """A calendar day, ``YYYY-MM-DD``."""

    accepts: ClassVar[str] = "a date written YYYY-MM-DD, e.g. 2026-01-01"

    def parse(self, raw: str) -> str:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError(raw)
        return dt.date.fromisoformat(raw).isoformat()
