"""A real HTTP receiver for webhook tests: http.server in a thread on 127.0.0.1 (a free port).

It answers the statuses it is told to, in order (then 200), optionally after a delay, records every
request, and checks each one's signature as an integrator would, with `verify_signature`.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lending.webhooks.signing import verify_signature


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.requests: list[Received] = []
        self.statuses: deque[int] = deque()
        self.delay_seconds = 0.0
        self.location = ""
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def answer(self, *statuses: int) -> None:
        self.statuses.extend(statuses)

    def record(self, path: str, headers: dict[str, str], body: bytes) -> int:
        verified = bool(self.secret) and verify_signature(self.secret, headers.get("Lending-Signature", ""), body)
        with self._lock:
            self.requests.append(Received(path, headers, body, verified))
            return self.statuses.popleft() if self.statuses else 200

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.record(self.path, dict(self.headers.items()), body)
            time.sleep(receiver.delay_seconds)
            self.send_response(status)
            if receiver.location:
                self.send_header("Location", receiver.location)
            answer = b"ok" if status < 300 else b"boom: " + b"x" * 1000
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: every request is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"
