"""``SpotifyClient``: spotipy underneath, with the resilience spotipy lacks.

Why not ``spotipy.Spotify._get``? Its ``_internal_call`` returns only the parsed body (no status, headers
or byte count), raises on 4xx/5xx after discarding the body, logs the Bearer header and the whole result
at DEBUG, and its urllib3 ``Retry`` sleeps through any ``Retry-After`` (hours, even) and then loses the
header. So each worker thread owns a ``spotipy.Spotify`` built on a ``requests.Session`` whose adapter
never retries (``retries=0``); :meth:`SpotifyClient.get` uses that object's session, URL ``prefix``,
``requests_timeout`` and auth manager (our token provider, via ``Spotify._auth_headers()``), but sends the
request itself so it sees the status, headers and raw bytes. On top:

* ``Retry-After`` honoured up to ``retry_after_ceiling_s`` (all threads pause); above it
  :class:`RateLimitedError` says when to retry (UTC);
* exponential backoff with full jitter on 5xx, dropped connections, timeouts and truncated bodies;
* one token refresh on 401, then the request is retried;
* a crawl-wide retry budget (``max_retries_total``) and a per-request attempt cap;
* client-side pacing (:class:`RateLimiter`) shared by all threads.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
import requests
import spotipy
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .accounting import RequestStats, endpoint_template
from .auth import TokenProvider, make_token_provider
from .config import SpotifyApiSettings
from .errors import RateLimitedError, RetryBudgetExhaustedError, SpotifyAuthError
from .ratelimit import RateLimiter
from .redact import install_log_redaction

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504})
_DROPPED = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def utc_now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Response:
    """One final HTTP answer. ``request`` is the path+query relative to the API host (``/v1/...``)."""

    request: str
    status: int
    body: Any
    bytes: int
    fetched_at: str = field(default_factory=utc_now_iso)
    headers: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == 200

    def envelope(self) -> dict:
        """The raw-zone record: ``{"request", "status", "fetched_at", "body"}``."""
        return {"request": self.request, "status": self.status, "fetched_at": self.fetched_at,
                "body": self.body}


def build_query(params: dict[str, Any] | None) -> str:
    """Deterministic query string; commas stay literal (``ids=a,b``, ``additional_types=track,episode``)."""
    if not params:
        return ""
    items = [(k, ",".join(v) if isinstance(v, list | tuple) else v) for k, v in params.items() if v is not None]
    return urlencode(items, safe=",")


def _parse_retry_after(value: str | None) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _decode(content: bytes) -> tuple[Any, bool]:
    """(body, is_json). Empty -> None."""
    if not content:
        return None, True
    try:
        return orjson.loads(content), True
    except orjson.JSONDecodeError:
        return content.decode("utf-8", "replace"), False


class SpotifyClient:
    """Thread-safe Spotify Web API client; see the module docstring."""

    def __init__(self, settings: SpotifyApiSettings, token_provider: TokenProvider | None = None,
                 *, sleep=time.sleep) -> None:
        install_log_redaction()
        self.settings = settings
        self.tokens = token_provider or make_token_provider(settings)
        self.limiter = RateLimiter(settings.rate_limit_per_30s, settings.rate_limit_headroom)
        self.stats = RequestStats()
        self._sleep = sleep
        self._local = threading.local()
        self._budget_lock = threading.Lock()
        self._retries_left = settings.max_retries_total
        self._all_sessions: list[requests.Session] = []
        self._api_root_path = urlsplit(settings.api_url).path.rstrip("/")  # "/v1"
        self.mode: str | None = None if settings.mode == "auto" else settings.mode

    # ---------------------------------------------------------------- spotipy per thread
    def spotify(self) -> spotipy.Spotify:
        """This thread's ``spotipy.Spotify`` (no built-in retries; token from our provider)."""
        sp = getattr(self._local, "spotify", None)
        if sp is None:
            session = requests.Session()
            adapter = HTTPAdapter(max_retries=Retry(total=0, connect=0, read=0, redirect=0, status=0,
                                                    raise_on_status=False, respect_retry_after_header=False),
                                  pool_connections=2, pool_maxsize=2)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            with self._budget_lock:
                self._all_sessions.append(session)
            sp = spotipy.Spotify(auth_manager=self.tokens, requests_session=session, retries=0,
                                 status_retries=0, requests_timeout=self.settings.timeout_s)
            sp.prefix = self.settings.api_url
            self._local.spotify = sp
        return sp

    @property
    def is_user(self) -> bool:
        return self.tokens.is_user_token

    def reset_accounting(self) -> RequestStats:
        """Fresh counters and retry budget (one crawl)."""
        self.stats = RequestStats()
        with self._budget_lock:
            self._retries_left = self.settings.max_retries_total
        return self.stats

    def close(self) -> None:
        with self._budget_lock:
            for s in self._all_sessions:
                s.close()
            self._all_sessions.clear()

    # ---------------------------------------------------------------- the request
    def request_path(self, path: str, params: dict[str, Any] | None = None) -> str:
        path = path.lstrip("/")
        root = self._api_root_path.lstrip("/")
        if root and path.startswith(root + "/"):
            path = path[len(root) + 1:]
        query = build_query(params)
        return f"{self._api_root_path}/{path}" + (f"?{query}" if query else "")

    def _take_retry(self, request: str, why: str) -> None:
        with self._budget_lock:
            if self._retries_left <= 0:
                raise RetryBudgetExhaustedError(
                    f"Retry budget of {self.settings.max_retries_total} retries for this crawl is exhausted "
                    f"(last: {why} on {request}). The API is unhealthy."
                )
            self._retries_left -= 1
        self.stats.record_retry()

    def _backoff(self, attempt: int) -> float:
        s = self.settings
        return random.uniform(0.0, min(s.backoff_cap_s, s.backoff_base_s * (2 ** attempt)))

    def get(self, path: str, params: dict[str, Any] | None = None) -> Response:
        """GET ``path`` (relative to ``api_url``, e.g. ``"tracks"``) and return the final :class:`Response`.

        Returns 200s and non-retryable statuses (400/403/404...) alike; the caller decides what is data.
        Raises :class:`RateLimitedError`, :class:`RetryBudgetExhaustedError`, :class:`SpotifyAuthError`.
        """
        sp = self.spotify()
        request = self.request_path(path, params)
        root = urlsplit(self.settings.api_url)
        url = f"{root.scheme}://{root.netloc}{request}"
        template = endpoint_template("GET", request)
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            if attempt > self.settings.max_attempts_per_request:
                raise RetryBudgetExhaustedError(
                    f"{request} still failing after {self.settings.max_attempts_per_request} attempts."
                )
            self.limiter.acquire()
            headers = sp._auth_headers()
            token = headers.get("Authorization", "")[len("Bearer "):]
            try:
                r = sp._session.get(url, headers=headers, timeout=sp.requests_timeout, allow_redirects=False)
                content = r.content
            except _DROPPED as e:
                self.stats.record_attempt(template, None)
                log.warning("dropped connection on %s (%s); retrying", request, type(e).__name__)
                self._take_retry(request, type(e).__name__)
                self._sleep(self._backoff(attempt - 1))
                continue
            status = r.status_code
            body, is_json = _decode(content)
            self.stats.record_attempt(template, status, len(content))
            if status == 200 and not is_json:
                # truncated or garbled body: the connection was cut mid-response
                log.warning("unparseable 200 body on %s (%d bytes); retrying", request, len(content))
                with self.stats._lock:
                    self.stats.dropped_connections += 1
                self._take_retry(request, "truncated body")
                self._sleep(self._backoff(attempt - 1))
                continue
            if status == 200:
                return Response(request, status, body, len(content), headers=dict(r.headers))
            if status == 401:
                if refreshed:
                    raise SpotifyAuthError(f"{request}: 401 Unauthorized even after a token refresh.")
                log.info("401 on %s: refreshing the access token once", request)
                self.tokens.refresh(stale=token)
                self.stats.record_token_refresh()
                refreshed = True
                self._take_retry(request, "401")
                continue
            if status == 429:
                retry_after = _parse_retry_after(r.headers.get("Retry-After"))
                if retry_after is None:
                    retry_after = self._backoff(attempt - 1) + 1.0
                if retry_after > self.settings.retry_after_ceiling_s:
                    raise RateLimitedError(request, retry_after, self.settings.retry_after_ceiling_s)
                log.warning("429 on %s: Retry-After %.3g s; all workers pause", request, retry_after)
                self._take_retry(request, "429")
                self.limiter.pause_until(time.monotonic() + retry_after)
                self.stats.record_retry_after(retry_after)
                self._sleep(retry_after)
                continue
            if status in RETRY_STATUSES:
                log.warning("%d on %s; backing off", status, request)
                self._take_retry(request, str(status))
                self._sleep(self._backoff(attempt - 1))
                continue
            return Response(request, status, body, len(content), headers=dict(r.headers))
