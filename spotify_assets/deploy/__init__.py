"""Code only a deployment loads: the run launcher the Dagster instance is configured with."""
