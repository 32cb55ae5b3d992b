"""The platform's settings: every environment variable declared once, read and validated in one place.

* :mod:`.declared` — each variable's name, kind, default, meaning (the README's text) and whether it is a
  secret. Nothing else in the project reads a ``SPOTIFY_*`` variable (the emulator's own aside).
* :func:`load` — the :class:`Settings` the environment holds now, every variable validated: a bad value
  (a word for a number, ``SPOTIFY_TRANSFORM_COMPUTE=lamda``, a bad cron or time zone, a share outside 0..1,
  a date not ``YYYY-MM-DD``) raises :class:`ConfigurationError` naming the variable and what it accepts.
  A secret's value never appears in an error, a ``repr`` or a log; the Dagster resources pass secrets on
  as ``dg.EnvVar(<name>)``, so Dagster resolves them at launch and the UI never shows them.
* ``python -m spotify_assets.settings`` prints the README's configuration table (:mod:`.table`).

**When the settings are read.** A Dagster code location is a process: the code server imports
:mod:`spotify_assets.definitions` once, and reloading the location (the UI's *Reload*, ``dg dev``'s code
server, ``dagster code-server start``) starts a new process, which reads the environment again — Dagster
1.13 cannot reload definitions inside a ``dagster api grpc`` process at all. So:

* what the asset definitions hold — the partitions' first day, the freshness deadline, the automation
  look-back, the audit thresholds in the checks' descriptions, the sensors' intervals and default state —
  is read once per process, when the modules of ``spotify_assets.defs`` are first imported;
* the resources (where the lake, the warehouse and Spotify are, where the transform stages) and the
  schedules are built by ``@dg.definitions`` functions, and are read again at each
  :func:`~spotify_assets.definitions.build_definitions` call, which also validates every setting first;
* what a run or a tick uses while it works (the webhook, staging retention, the raw sensor's look-back)
  is read when it is used.

After changing a setting, reload the code location (a new process; the deployed image's ``dagster api grpc``
server is restarted instead): everything is then read anew. Rebuilding
every asset in a factory so that a second ``build_definitions()`` in the same process re-read the rest would
buy nothing Dagster uses — it never calls it twice in one process — and would turn each module of the
``defs/`` folder from plain decorated definitions into factories.
"""

from __future__ import annotations

from .declared import BY_NAME, READ_ELSEWHERE, SECRET_NAMES, SETTINGS, Setting
from .errors import ConfigurationError
from .loading import Settings, load

__all__ = ["BY_NAME", "READ_ELSEWHERE", "SECRET_NAMES", "SETTINGS", "ConfigurationError", "Setting", "Settings", "load"]
