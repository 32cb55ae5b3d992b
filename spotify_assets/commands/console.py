"""What the commands share: the Dagster instance they run on and how they print a table."""

from __future__ import annotations

import os

import dagster as dg


def instance() -> dg.DagsterInstance:
    """``$DAGSTER_HOME``'s instance (the Makefile's ``./data/dagster_home``), so ``make dev`` shows the runs;
    an ephemeral one when it is unset."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def print_table(title: str, rows: list[tuple], headers: tuple[str, ...]) -> None:
    """``rows`` under ``headers``, the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    print(f"\n{title}")
    for row in (headers, *rows):
        print("  " + "  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w)
                               for i, (v, w) in enumerate(zip(row, widths, strict=True))))
