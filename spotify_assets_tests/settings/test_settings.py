"""The settings: every SPOTIFY_* variable the platform reads is declared, has its default when unset, and a
bad value fails with an error naming the variable and what it accepts — never quoting a secret."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spotify_assets import settings
from spotify_assets.settings import SETTINGS, ConfigurationError, load

PACKAGE = Path(settings.__file__).resolve().parents[1]


def test_unset_or_blank_variables_take_their_declared_defaults():
    current = load({})
    assert load({s.name: "  " for s in SETTINGS}) == current
    assert current.assets_env == "local" and current.lake_uri == "./data/lake"
    assert current.schedule_cron == "0 6 * * *" and current.schedule_timezone == "UTC"
    assert current.partitions_start == "2026-01-01" and current.automation_lookback_days == 7
    assert current.check_quarantine_hold_share == 0.05 and current.automation_default_on is False
    assert current.client_secret is None and current.transform_compute == "inprocess"
    assert {s.attribute: getattr(current, s.attribute) for s in SETTINGS} == {s.attribute: s.default for s in SETTINGS}


def test_values_are_parsed_to_their_kind():
    current = load({"SPOTIFY_TRANSFORM_COMPUTE": " Lambda ", "SPOTIFY_AUTOMATION_DEFAULT_ON": "yes",
                    "SPOTIFY_RAW_SENSOR_INTERVAL_S": "90", "SPOTIFY_CHECK_RAW_LOSS_HOLD_SHARE": "0.2",
                    "SPOTIFY_SCHEDULE_CRON": "30  23 * * 1-5", "SPOTIFY_SCHEDULE_TIMEZONE": "Europe/Berlin"})
    assert current.transform_compute == "lambda" and current.automation_default_on is True
    assert current.raw_sensor_interval_s == 90 and current.check_raw_loss_hold_share == 0.2
    assert current.schedule_cron == "30 23 * * 1-5" and current.schedule_timezone == "Europe/Berlin"


@pytest.mark.parametrize(("name", "value", "accepted"), [
    ("SPOTIFY_TRANSFORM_COMPUTE", "lamda", "is not one of inprocess, lambda, glue"),
    ("SPOTIFY_ASSETS_ENV", "prod", "is not one of local, aws"),
    ("SPOTIFY_RAW_SENSOR_INTERVAL_S", "sixty", "is not a whole number of at least 1 (seconds)"),
    ("SPOTIFY_AUTOMATION_LOOKBACK_DAYS", "0", "is not a whole number of at least 1 (days)"),
    ("SPOTIFY_FAILURE_WEBHOOK_TIMEOUT_S", "nan", "is not a number of at least 0.1 (seconds)"),
    ("SPOTIFY_SCHEDULE_CRON", "0 25 * * *", "is not a cron expression: five fields"),
    ("SPOTIFY_FRESHNESS_DEADLINE_CRON", "every day at 9", "is not a cron expression"),
    ("SPOTIFY_PLAYS_SCHEDULE_CRON", "*/0 * * * *", "is not a cron expression"),
    ("SPOTIFY_SCHEDULE_TIMEZONE", "Mars/Olympus", "is not an IANA time zone name"),
    ("SPOTIFY_CHECK_QUARANTINE_HOLD_SHARE", "1.5", "is not a number from 0 to 1"),
    ("SPOTIFY_CHECK_QUARANTINE_MAX_SHARE", "-0.1", "is not a number from 0 to 1"),
    ("SPOTIFY_CHECK_ROW_COUNT_MAX_CHANGE", "a quarter", "is not a number of at least 0"),
    ("SPOTIFY_PARTITIONS_START", "2026-1-1", "is not a date written YYYY-MM-DD"),
    ("SPOTIFY_PARTITIONS_START", "2026-02-30", "is not a date written YYYY-MM-DD"),
    ("SPOTIFY_AUTOMATION_DEFAULT_ON", "maybe", "is not a flag: true or false"),
    ("SPOTIFY_FULL_COPY_MAX_AGE_DAYS", "-1", "is not a whole number of at least 0 (days)"),
])
def test_a_bad_value_names_the_variable_and_what_it_accepts(name, value, accepted):
    with pytest.raises(ConfigurationError) as raised:
        load({name: value})
    assert str(raised.value).startswith(f"{name}={value!r} {accepted}")


def test_dagster_accepts_every_cron_the_settings_accept():
    import dagster as dg

    for cron in ("0 6 * * *", "*/20 8-18 1,15 jan-jun mon-fri", "5 * * * 7"):
        assert load({"SPOTIFY_SCHEDULE_CRON": cron}).schedule_cron == cron
        dg.ScheduleDefinition(name="probe", cron_schedule=cron, target=dg.AssetSelection.all())


def test_secrets_are_declared_and_never_shown():
    assert settings.SECRET_NAMES == ("SPOTIFY_CLIENT_SECRET", "SPOTIFY_REFRESH_TOKEN", "SPOTIFY_FAILURE_WEBHOOK_URL")
    values = {"SPOTIFY_CLIENT_SECRET": "s3cr3t-client", "SPOTIFY_REFRESH_TOKEN": "r3fr3sh-token",
              "SPOTIFY_FAILURE_WEBHOOK_URL": "https://hooks.example/T0/B0/xyzzy-token"}
    current = load(values)
    assert current.client_secret == "s3cr3t-client"  # held for the Spotify client...
    for shown in (repr(current), str(current)):  # ...never shown
        assert not any(v in shown for v in values.values()) and "client_secret=<redacted>" in shown


def test_an_error_on_a_secret_does_not_quote_it(monkeypatch):
    from spotify_assets.settings import kinds

    # no secret of today's declarations can be malformed (they are text): the rule is the kinds' own
    with pytest.raises(ConfigurationError) as raised:
        kinds.whole(1).read("SPOTIFY_SOME_TOKEN", "tok-123-secret", secret=True)
    assert "tok-123-secret" not in str(raised.value)
    assert str(raised.value).startswith("SPOTIFY_SOME_TOKEN (value hidden) is not a whole number")


def test_a_changed_environment_is_seen_at_the_next_load(monkeypatch):
    monkeypatch.setenv("SPOTIFY_GLUE_DATABASE", "first")
    assert load().glue_database == "first"
    monkeypatch.setenv("SPOTIFY_GLUE_DATABASE", "second")
    assert load().glue_database == "second"


def test_settings_are_read_only():
    with pytest.raises(AttributeError):
        load({}).lake_uri = "elsewhere"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="no setting 'lake_url'"):
        load({}).lake_url  # noqa: B018


# The project's code (the emulator aside: a stand-in for Spotify with variables of its own) reads SPOTIFY_*
# variables through spotify_assets.settings only.
def test_every_spotify_variable_the_code_names_is_declared():
    declared = {s.name for s in SETTINGS}
    named: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("emulator/"):
            continue
        for name in re.findall(r"\b(SPOTIFY_[A-Z0-9_]+[A-Z0-9])\b", path.read_text()):
            named.setdefault(name, set()).add(relative)
    # constants that are not variables: the id pattern, the URLs of real Spotify
    not_variables = {"SPOTIFY_ID", "SPOTIFY_API_URL", "SPOTIFY_ACCOUNTS_URL"} - declared
    assert {n: sorted(p) for n, p in named.items() if n not in declared | not_variables} == {}


def test_only_the_settings_read_the_environment_for_spotify_variables():
    """No ``os.environ``/``getenv`` of a SPOTIFY_* name, and no ``dg.EnvVar`` of a literal name (docs aside): the
    resources take the secrets' names from the declarations."""
    readers = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(("emulator/", "settings/")):
            continue
        text = path.read_text()
        if re.search(r"(os\.environ|getenv)\S*\(?\s*[\"']SPOTIFY_", text) or re.search(r"(?<![`\w.])(?:dg\.)?EnvVar\(\s*[\"']", text):
            readers.append(relative)
    assert readers == []


def test_the_resources_get_secrets_as_env_vars_by_their_declared_names(monkeypatch):
    import dagster as dg

    from spotify_assets.defs.resources import spotify_resource

    monkeypatch.setenv("SPOTIFY_CLIENT_ID", "an-app")
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", "s3cr3t-client")
    monkeypatch.delenv("SPOTIFY_REFRESH_TOKEN", raising=False)
    resource = spotify_resource("aws")
    assert resource.client_secret == dg.EnvVar("SPOTIFY_CLIENT_SECRET")
    assert resource.refresh_token is None  # unset: not wired
    assert "s3cr3t-client" not in repr(resource)
