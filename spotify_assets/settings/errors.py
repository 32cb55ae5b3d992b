"""What a wrong setting raises."""

from __future__ import annotations


class ConfigurationError(ValueError):
    """A setting is wrong; the message names it (and what it accepts). Retrying cannot help.

    Callers never retry it: the lake and warehouse resources turn it into a step failure that is not
    retried, and a bad value read when the definitions load fails the code location's load.
    """
