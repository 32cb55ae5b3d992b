"""How the report writes its figures, the same in the charts, the page and the asset's metadata."""

from __future__ import annotations

import datetime as dt


def hours_text(hours: float) -> str:
    """``"1,234 h"``, ``"12 h"``, ``"2.5 h"`` or, under an hour, ``"25 min"``."""
    if hours >= 10:
        return f"{hours:,.0f} h"
    if hours >= 1:
        return f"{hours:.1f} h"
    return f"{hours * 60:.0f} min"


def span_text(first: dt.datetime, last: dt.datetime, *, months: bool = False) -> str:
    """``"1 Jan 2014 – 31 Dec 2023"`` (``months``: ``"Jan 2014 – Dec 2023"``), one date for one day."""
    if first.date() == last.date():
        return f"{first:%-d %b %Y}"
    pattern = "%b %Y" if months else "%-d %b %Y"
    return f"{first:{pattern}} – {last:{pattern}}"
