"""The platform's settings: what a wrong one raises.

:class:`ConfigurationError` is the error of a setting that is wrong, its message naming the setting; a
retry cannot fix it, so callers never retry it (the lake and warehouse resources turn it into a step
failure that is not retried).
"""

from __future__ import annotations


class ConfigurationError(ValueError):
    """A setting is wrong; the message names it. Retrying cannot help."""
