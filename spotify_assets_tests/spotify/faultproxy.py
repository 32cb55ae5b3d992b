"""A scripted fault-injecting reverse proxy for tests: put it between the client and the emulator.

``proxy.inject(kind, count=1, match="/v1/albums")`` makes the next ``count`` requests whose path contains
``match`` fail with ``kind``: ``"429:SECONDS"`` (Retry-After), ``"500"``/``"502"``/``"503"``, ``"401"``
(expired token), ``"drop"`` (connection closed without an answer), ``"truncate"`` (half a 200 body).
Everything else is forwarded verbatim.
"""

from __future__ import annotations

import http.client
import http.server
import threading
from urllib.parse import urlsplit


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def log_message(self, format, *args):  # noqa: A002
        return

    def do_GET(self):  # noqa: N802
        self._handle("GET")

    def do_POST(self):  # noqa: N802
        self._handle("POST")

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        fault = self.server.take_fault(self.path) if self.path.startswith("/v1/") else None
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(2) if hasattr(self.connection, "shutdown") else None
            return
        if fault and fault.split(":")[0] in ("429", "500", "502", "503", "401"):
            status = int(fault.split(":")[0])
            payload = (b'{"error": {"status": %d, "message": "injected"}}' % status)
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", fault.split(":")[1] if ":" in fault else "1")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        conn = http.client.HTTPConnection(self.server.upstream_host, self.server.upstream_port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(method, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if fault == "truncate" and resp.status == 200:
            data = data[: len(data) // 2]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _ProxyServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str):
        super().__init__(("127.0.0.1", 0), _Handler)
        u = urlsplit(upstream)
        self.upstream_host, self.upstream_port = u.hostname, u.port
        self._lock = threading.Lock()
        self._faults: list[list] = []  # [match, kind, remaining]
        self.injected: list[tuple[str, str]] = []

    def take_fault(self, path: str) -> str | None:
        with self._lock:
            for rule in self._faults:
                if rule[2] > 0 and rule[0] in path:
                    rule[2] -= 1
                    self.injected.append((rule[1], path))
                    return rule[1]
        return None


class FaultProxy:
    def __init__(self, upstream: str):
        self._server = _ProxyServer(upstream)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}"
        self.api_url = f"{self.url}/v1/"

    def inject(self, kind: str, count: int = 1, match: str = "/v1/") -> None:
        with self._server._lock:
            self._server._faults.append([match, kind, count])

    @property
    def injected(self) -> list[tuple[str, str]]:
        return list(self._server.injected)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
