"""Every environment variable of the platform, declared once: name, kind, default, meaning, secret or not.

The README's configuration table is rendered from these declarations (``python -m spotify_assets.settings``)
and a test keeps the two equal. The emulator's own variables are not here: it is a stand-in for Spotify,
not part of the platform. AWS's variables are read by the AWS SDK (and :mod:`spotify_assets.aws.clients`)
by AWS's rules, the Postgres ones by the production instance's ``deploy/dagster.yaml``: they are listed in
:data:`READ_ELSEWHERE` for the README only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .kinds import SHARE, TEXT, Choice, Cron, Day, Flag, Kind, TimeZone, number, whole

PREFIX = "SPOTIFY_"


@dataclass(frozen=True)
class Setting:
    """One environment variable. ``default`` is the value when it is unset or blank (``None``: none);
    ``shown_default`` is what the README says when that is not the value itself."""

    name: str
    default: Any
    meaning: str
    kind: Kind = TEXT
    secret: bool = False
    shown_default: str | None = None

    @property
    def attribute(self) -> str:
        """The name on :class:`~spotify_assets.settings.loading.Settings`: ``SPOTIFY_LAKE_URI`` → ``lake_uri``."""
        return self.name.removeprefix(PREFIX).lower()

    @property
    def default_text(self) -> str:
        if self.shown_default is not None:
            return self.shown_default
        if self.default is None:
            return "unset"
        if isinstance(self.default, bool):
            return f"`{str(self.default).lower()}`"
        return f"`{self.default:g}`" if isinstance(self.default, float) else f"`{self.default}`"


@dataclass(frozen=True)
class ReadElsewhere:
    """Variables the platform does not read itself, shown in the README's table for completeness."""

    names: str
    meaning: str


ENVIRONMENTS = ("local", "aws")
COMPUTE_MODES = ("inprocess", "lambda", "glue")

SETTINGS: tuple[Setting, ...] = (
    Setting("SPOTIFY_ASSETS_ENV", "local", "`local` (lake directory + DuckDB) or `aws` (S3 + Glue + Athena)",
            Choice(choices=ENVIRONMENTS)),
    Setting("SPOTIFY_LAKE_URI", "./data/lake", "lake root: a directory or `s3://bucket/prefix`"),
    Setting("SPOTIFY_CLIENT_ID", None,
            "Spotify app client id (client-credentials flow). Unset with `SPOTIFY_CLIENT_SECRET` ⇒ the bundled "
            "emulator with `SPOTIFY_ASSETS_ENV=local` only; with `aws` the crawl fails before any request, naming "
            "what is missing (the UI shows it on the raw assets)"),
    Setting("SPOTIFY_CLIENT_SECRET", None, "Spotify app client secret, with `SPOTIFY_CLIENT_ID`", secret=True),
    Setting("SPOTIFY_REFRESH_TOKEN", None,
            "user token for `/me/*` — the user's playlists and all listening data — and development quota mode "
            "(from `… spotify login`, which asks for the scopes `playlist-read-private`, "
            "`playlist-read-collaborative`, `user-library-read`, `user-top-read`, `user-read-recently-played`); "
            "it expires six months after the login", secret=True),
    Setting("SPOTIFY_REFRESH_TOKEN_ISSUED_AT", None,
            "when that login happened (printed by `… spotify login`, e.g. `2026-11-30T08:15:00Z`); Spotify does "
            "not report it, the expiry warning needs it"),
    Setting("SPOTIFY_REFRESH_TOKEN_WARN_DAYS", 14,
            "the `spotify_refresh_token_expiry` check on `raw_playlists` warns this many days before the token "
            "expires", whole(1, "days")),
    Setting("SPOTIFY_RATE_LIMIT_PER_30S", None,
            "client-side pacing: at most this many Spotify requests per rolling 30 s (unset: only Spotify's 429s "
            "slow the crawl)", whole(1, "requests")),
    Setting("SPOTIFY_API_URL", None, "point the crawl at an emulator, e.g. `http://127.0.0.1:8765/v1/`",
            shown_default="real Spotify when credentials are set, else the in-process emulator"),
    Setting("SPOTIFY_ACCOUNTS_URL", None, "the accounts service of that emulator, e.g. `http://127.0.0.1:8765`",
            shown_default="real Spotify when credentials are set, else the in-process emulator"),
    Setting("SPOTIFY_GLUE_DATABASE", "spotify", "Glue database of the transformed and analytics tables"),
    Setting("SPOTIFY_ATHENA_WORKGROUP", "primary", "Athena workgroup"),
    Setting("SPOTIFY_ATHENA_OUTPUT", None, "`s3://…` query result location (required unless the workgroup "
            "enforces one)"),
    Setting("SPOTIFY_DUCKDB_PATH", "./data/spotify.duckdb", "local DuckDB database with one view per table; open "
            "it read-only (see *Reading the DuckDB file*)"),
    Setting("SPOTIFY_SCHEDULE_CRON", "0 6 * * *", "when `daily_crawl_schedule` crawls (today's partition: the UTC "
            "day of the tick)", Cron()),
    Setting("SPOTIFY_SCHEDULE_TIMEZONE", "UTC", "the timezone of both schedules' crons", TimeZone()),
    Setting("SPOTIFY_REPORT_TIMEZONE", None, "the IANA time zone (`Europe/Berlin`) in which the listening report "
            "counts weekdays, hours, weeks and years", TimeZone(),
            shown_default="`SPOTIFY_SCHEDULE_TIMEZONE`"),
    Setting("SPOTIFY_PLAYS_SCHEDULE_CRON", "5 * * * *", "when `recent_plays_schedule` lands the user's recently "
            "played tracks (`raw_plays`). Spotify remembers the last 50 plays only: keep runs at most a few hours "
            "apart", Cron()),
    Setting("SPOTIFY_AUTOMATION_LOOKBACK_DAYS", 7, "how many recent days the downstream assets follow their "
            "parents' updates (raw files of other tools for older days: backfill)", whole(1, "days")),
    Setting("SPOTIFY_AUTOMATION_DEFAULT_ON", False, "start the schedules and sensors by default (set `true` in "
            "production)", Flag()),
    Setting("SPOTIFY_FAILURE_WEBHOOK_URL", None, "the run-failure sensor also POSTs its JSON line here (a "
            "webhook URL often holds its token: a secret)", secret=True),
    Setting("SPOTIFY_FAILURE_WEBHOOK_TIMEOUT_S", 5.0, "how long that POST may take, in seconds",
            number(0.1, "seconds")),
    Setting("SPOTIFY_FAILURE_SENSOR_INTERVAL_S", 30, "how often `run_failure_alert` looks for failed runs, in "
            "seconds", whole(1, "seconds")),
    Setting("SPOTIFY_RAW_SENSOR_INTERVAL_S", 60, "raw-landing sensor tick interval, in seconds",
            whole(1, "seconds")),
    Setting("SPOTIFY_RAW_SENSOR_LOOKBACK_S", 300.0, "how far back the raw-landing sensor re-lists to catch late "
            "or same-second files, in seconds", number(0, "seconds")),
    Setting("SPOTIFY_TRANSFORM_COMPUTE", "inprocess", "where the transformed step stages a day: `inprocess`, "
            "`lambda` or `glue` (Dagster Pipes, see docs/serverless.md)", Choice(choices=COMPUTE_MODES)),
    Setting("SPOTIFY_TRANSFORM_LAMBDA_FUNCTION", None, "the function, for `lambda` (its name or ARN)"),
    Setting("SPOTIFY_TRANSFORM_GLUE_JOB", None, "the Glue job's name, for `glue`"),
    Setting("SPOTIFY_FRESHNESS_DEADLINE_CRON", "0 9 * * *", "by when a day's transformed tables are expected "
            "(freshness policy)", Cron()),
    # a change, not a share of a whole: a table may grow by more than 100% (0 < value, no upper bound)
    Setting("SPOTIFY_CHECK_ROW_COUNT_MAX_CHANGE", 0.25, "warn when a table's row count moves more than this "
            "share from its last published version (the day's own on a re-run, else the latest earlier day's)",
            number(0, "a share of the last count, e.g. 0.25 for 25%; may exceed 1")),
    Setting("SPOTIFY_CHECK_QUARANTINE_MAX_SHARE", 0.01, "warn when more than this share of a table's records is "
            "quarantined", SHARE),
    Setting("SPOTIFY_CHECK_QUARANTINE_HOLD_SHARE", 0.05, "hold the day back when more than this share of a "
            "table's records is quarantined (and at least 10 of them)", SHARE),
    Setting("SPOTIFY_CHECK_RAW_LOSS_HOLD_SHARE", 0.01, "hold the day back when a raw source lost more than this "
            "share of its bytes to a damaged gzip file (any loss warns; a file cut short or empty always holds "
            "the day back)", SHARE),
    Setting("SPOTIFY_STAGING_RETENTION_DAYS", 7.0, "how long a held-back (failed-audit) version stays in the "
            "staging area for inspection, in days", number(0, "days")),
    Setting("SPOTIFY_PARTITIONS_START", "2026-01-01", "first daily partition", Day()),
    Setting("SPOTIFY_FULL_COPY_MAX_AGE_DAYS", 7, "look an album or artist up again once its last full copy is "
            "this many days old (younger copies are carried over; `0` = look every album and artist up daily); "
            "the `raw_spotify` config `full_copy_max_age_days` overrides it", whole(0, "days")),
)

READ_ELSEWHERE: tuple[ReadElsewhere, ...] = (
    ReadElsewhere("`AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`",
                  "read by the AWS SDK by AWS's rules; `AWS_ENDPOINT_URL` points S3/Glue/Athena at moto or another "
                  "endpoint"),
    ReadElsewhere("`DAGSTER_POSTGRES_HOST`, `_PORT`, `_DB`, `_USER`, `_PASSWORD`",
                  "read by the production instance's `deploy/dagster.yaml`: its database; the password is a secret"),
)

BY_NAME = {setting.name: setting for setting in SETTINGS}
BY_ATTRIBUTE = {setting.attribute: setting for setting in SETTINGS}
SECRET_NAMES = tuple(setting.name for setting in SETTINGS if setting.secret)
