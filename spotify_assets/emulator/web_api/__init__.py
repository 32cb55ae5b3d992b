"""The emulator's Web API endpoints (``/v1/...``), one module per family of resources.

:mod:`.endpoints` holds what every family shares (the request's parameters, the access rules of each quota
mode); :mod:`.lookups` the tracks, albums and artists; :mod:`.playlists` the playlists; :mod:`.user` the
signed-in user, their profile, listening and saved tracks; :mod:`.search` the search. Each family lists its
routes; :class:`~spotify_assets.emulator.app.EmulatorApp` puts them in one routing table, and
:mod:`spotify_assets.emulator.server` serves it over HTTP.
"""
