"""Analytics SQL (Athena/Trino dialect source files) and the code that runs and materializes it."""

from .analytics import (
    ANALYTICS,
    AnalyticsMaterialization,
    analytics_params,
    load_sql,
    materialize_analytics,
    render,
    render_analytics,
    run_analytics,
    run_sql,
    to_engine_sql,
)

__all__ = [
    "ANALYTICS",
    "AnalyticsMaterialization",
    "analytics_params",
    "load_sql",
    "materialize_analytics",
    "render",
    "render_analytics",
    "run_analytics",
    "run_sql",
    "to_engine_sql",
]
