"""The HTTP server: Spotify's API paths on /v1, the accounts service on /api/token and /authorize,
and emulator-only admin endpoints on /_admin.

Standard-library ``ThreadingHTTPServer`` (one thread per connection, HTTP/1.1 keep-alive). Each
response is written with a single ``write`` and TCP_NODELAY so keep-alive clients never wait on
Nagle/delayed-ACK interplay - that is what makes hundreds of requests per second possible.
"""

from __future__ import annotations

import socket
import threading
import time
from datetime import date, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import orjson

from .app import EmulatorApp
from .auth import AuthError
from .config import EmulatorConfig
from .music import Music
from .web_api.endpoints import ApiError, error_body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SpotifyEmulator/1.0"
    timeout = 60  # idle keep-alive connections are closed after a minute

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet: tests and benchmarks
        pass

    # -- plumbing
    def _send(self, status: int, body: bytes, headers: dict | None = None,
              content_type: str = "application/json; charset=utf-8", record: str | None = None) -> int:
        """Write one response; ``record`` counts it under that endpoint template *before* the bytes go
        out, so a client that reads the stats right after its response always sees its request."""
        reason = HTTPStatus(status).phrase
        head = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
        if body or content_type != "application/json; charset=utf-8":
            head.append(f"Content-Type: {content_type}")
        for k, v in (headers or {}).items():
            head.append(f"{k}: {v}")
        if self.close_connection:
            head.append("Connection: close")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        if record is not None:
            self.server.app.stats.record(record, status, len(raw))
        self.wfile.write(raw)
        return len(raw)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        app: EmulatorApp = self.server.app  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        path = url.path
        q = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body = self._body() if method in ("POST", "PUT", "DELETE") else b""
        try:
            if path.startswith("/_admin/"):
                self._admin(app, method, path, body)
            elif path == "/api/token":
                self._latency(app)
                self._token(app, method, body)
            elif path == "/authorize":
                self._latency(app)
                self._authorize(app, q)
            else:
                self._api(app, method, path, q)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _latency(self, app: EmulatorApp) -> None:
        if app.cfg.latency_ms > 0:
            time.sleep(app.cfg.latency_ms / 1000.0)  # in this handler thread: concurrency helps

    # -- accounts service
    def _token(self, app: EmulatorApp, method: str, body: bytes) -> None:
        if method != "POST":
            self._send(405, b'{"error":"method_not_allowed"}')
            return
        try:
            out = app.tokens.token(body, self.headers.get("Authorization"))
            status = 200
        except AuthError as e:
            out, status = {"error": e.code, "error_description": e.description}, e.status
        self._send(status, orjson.dumps(out), record=f"{method} /api/token")

    def _authorize(self, app: EmulatorApp, q: dict) -> None:
        try:
            loc = app.tokens.authorize(q)
        except AuthError as e:
            self._send(e.status, e.description.encode(), content_type="text/plain; charset=utf-8",
                       record="GET /authorize")
            return
        self._send(302, b"", {"Location": loc}, record="GET /authorize")

    # -- admin (never rate limited, faulted or counted)
    def _admin(self, app: EmulatorApp, method: str, path: str, body: bytes) -> None:
        if path == "/_admin/stats" and method == "GET":
            out = app.stats.snapshot()
        elif path == "/_admin/reset-stats" and method == "POST":
            app.stats.reset()
            out = {"ok": True}
        elif path == "/_admin/clock":
            if method == "POST":
                try:
                    data = orjson.loads(body or b"{}")
                    if data.get("now"):
                        app.set_now(datetime.fromisoformat(data["now"]))
                    else:
                        raw = data.get("today")
                        app.set_today(date.fromisoformat(raw) if raw else None)
                except (ValueError, AttributeError, orjson.JSONDecodeError):
                    self._send(400, error_body(400, 'expected {"today": "YYYY-MM-DD"} or {"now": "YYYY-MM-DDTHH:MM:SSZ"}'))
                    return
            out = {"today": app.today().isoformat(), "now": app.now().isoformat(timespec="milliseconds")}
        elif path == "/_admin/catalog" and method == "GET":
            out = app.catalog_summary()
        else:
            self._send(404, error_body(404, "Service not found"))
            return
        self._send(200, orjson.dumps(out))

    # -- Web API
    def _api(self, app: EmulatorApp, method: str, path: str, q: dict) -> None:
        found = app.match(path) if method == "GET" else None
        if found is None:
            template = f"{method} <unmatched>"
            self._send(404, error_body(404, "Service not found"), record=template)
            return
        template, fn, args = found
        template = f"GET {template}"
        self._latency(app)
        retry = app.limiter.admit()
        if retry is not None:
            app.stats.record_429()
            variant = app.faults.rate_limit_body_variant()
            body = (b"", error_body(429, "API rate limit exceeded"),
                    orjson.dumps({"error": {"status": 429, "message": "API rate limit exceeded",
                                            "reason": "QUOTA_EXCEEDED"}}))[variant]
            self._send(429, body, {"Retry-After": str(retry)}, record=template)
            return
        fault = app.faults.draw()
        if fault is not None:
            app.stats.record_fault(fault)
            if fault == "drop":
                # Close without a response, as a flaky network or overloaded edge would.
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                app.stats.record(template, 0, 0)
                return
            status = int(fault)
            msg = {429: "API rate limit exceeded", 500: "Server error.", 502: "Bad gateway.",
                   503: "Service unavailable"}[status]
            headers = {"Retry-After": "1"} if status == 429 else None
            self._send(status, error_body(status, msg), headers, record=template)
            return
        tok, err = app.tokens.check(self.headers.get("Authorization"))
        if tok is None:
            self._send(401, error_body(401, err), {"WWW-Authenticate": 'Bearer realm="spotify"'}, record=template)
            return
        day = app.today().toordinal()
        try:
            out = fn(tok, q, day, *args)
            status, body = 200, orjson.dumps(out)
        except ApiError as e:
            status, body = e.status, error_body(e.status, e.message)
        self._send(status, body, record=template)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Open keep-alive connections, so stop() can end them (otherwise their threads keep serving).
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()

    def process_request(self, request, client_address) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns, self._conns = list(self._conns), set()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class EmulatorServer:
    """A running emulator (see ``start_emulator``). Also a context manager that stops on exit."""

    def __init__(self, cfg: EmulatorConfig) -> None:
        self.config = cfg
        self._httpd = _Server((cfg.host, cfg.port), _Handler)
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://{cfg.host}:{self.port}"
        self.api_url = self.base_url + "/v1/"
        self.accounts_url = self.base_url
        self.app = EmulatorApp(cfg, self.base_url)
        self._httpd.app = self.app  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def music(self) -> Music:
        return self.app.music

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"spotify-emulator-{self.port}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.2)

    def set_today(self, d: date | None) -> None:
        self.app.set_today(d)

    def today(self) -> date:
        return self.app.today()

    def set_now(self, when: datetime | None) -> None:
        self.app.set_now(when)

    def now(self) -> datetime:
        return self.app.now()

    def stats(self) -> dict:
        return self.app.stats.snapshot()

    def reset_stats(self) -> None:
        self.app.stats.reset()

    def catalog_summary(self) -> dict:
        return self.app.catalog_summary()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
        self._httpd.close_connections()

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_emulator(cfg: EmulatorConfig | None = None) -> EmulatorServer:
    """Bind 127.0.0.1:cfg.port (0 = a free port) and serve in a daemon thread."""
    return EmulatorServer(cfg or EmulatorConfig()).start()
