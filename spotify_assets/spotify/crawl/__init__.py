"""The request-minimal crawl: seeds -> playlists -> item pages -> tracks -> albums -> artists.

Plan (``M`` = quota mode, see :mod:`..mode`):

1. ``/v1/me/playlists?limit=50`` pages when the token is a user token and ``include_my_playlists``; with
   ``include_my_library`` (and a user token) the user's top artists and tracks (``/v1/me/top/{type}``, the
   top 50 of each time range) and saved tracks (``/v1/me/tracks`` pages of 50). With client credentials
   only they are skipped (a log line says so; their sources stay empty). A 403 (a token without the scope)
   is recorded and logged, naming the scope; the rest of the crawl goes on.
2. ``/v1/playlists/{id}`` for every playlist (extended: ``additional_types=track,episode``); the answer
   embeds the first item page.
3. If the playlist's ``snapshot_id`` equals the one in ``previous`` and the previous partition holds its
   complete item pages, those pages are carried over verbatim (plus ``"carried_from": "YYYY-MM-DD"``,
   the date the response was originally fetched): the playlist costs exactly one request. Otherwise the
   remaining pages are fetched at the maximum page size (extended ``/tracks`` limit 100, development
   ``/items`` limit 50).
4. Full track objects come inside the items (and inside top tracks and saved tracks); seed track ids not
   seen in full are looked up.
5. Albums then artists referenced by the tracks (simplified objects are not full), plus seed artists:
   extended ``?ids=`` batches of 20 / 50, development single look-ups. An album or artist whose last full
   copy in ``previous`` is younger than ``full_copy_max_age_days`` is not looked up: that copy is carried
   over verbatim (plus ``carried_from``) like unchanged playlists' pages.

The steps are pipelined, not phased: a look-up batch is sent as soon as 20 / 50 new ids are known (only
full batches until the end, then the remainders, so the count stays minimal). Ids are taken in a canonical
order (playlists, then their pages, in plan order, whatever order the responses complete in), so the
batches (and records) are identical from one run to the next.

Every final response of a data source (200s, and 403/404 that are data: a missing playlist, a
non-owned playlist's items in development mode) is written to the sink from the worker thread as soon
as it arrives; when the crawl is aborted (``RateLimitedError``...) the sink holds what was fetched (its
owner decides whether to keep it) and the exception gets a ``report`` attribute holding the partial
:class:`CrawlReport`.

The modules, one job each (a module imports only those above it):

* :mod:`.refs` - what the crawl reads out of a response (page, item and track shapes; the ids they lead to)
* :mod:`.scheduling` - the request queue: worker pool, callbacks on the main thread, request accounting
* :mod:`.carry` - everything carried over from the previous partition (playlist pages, album/artist copies)
* :mod:`.lookups` - tracks, albums and artists by id, batched or single by quota mode
* :mod:`.feed` - the canonical order in which tracks reach the look-ups
* :mod:`.playlists` - the user's playlist list, playlists and their item pages
* :mod:`.library` - the user's top items and saved tracks
* :mod:`.report` - the crawl report
* :mod:`.run` - :func:`run_crawl`: one crawl, wiring the above together
"""

from .report import CrawlReport
from .run import CrawlSeeds, run_crawl
from .scheduling import ListSink, RawSink

__all__ = ["CrawlReport", "CrawlSeeds", "ListSink", "RawSink", "run_crawl"]
