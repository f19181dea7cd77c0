"""A real HTTP webhook receiver on 127.0.0.1 for the tests: it can be down, fail with 500,
answer slowly or hold a request, and it verifies every signature with `standardwebhooks`."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.reliability.harness import free_port


@dataclass(frozen=True)
class Arrival:
    """One request the receiver got: its `webhook-id`, body, and what it answered."""

    webhook_id: str
    body: bytes
    verified: bool
    status: int


@dataclass
class Receiver:
    """Down until `start()`; `mode` is `ok`, `fail` (500), `slow` or `hold` (until released)."""

    secret: str | None = None
    mode: str = "ok"
    slow_seconds: float = 0.0
    port: int = field(default_factory=free_port)
    arrivals: list[Arrival] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self, mode: str = "ok") -> Receiver:
        self.mode = mode
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.answer(self, body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        try:
            assert self.secret is not None
            Webhook(self.secret).verify(body, headers)
            verified = True
        except (WebhookVerificationError, AssertionError, ValueError):
            verified = False
        mode = self.mode
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if mode == "slow":
                time.sleep(self.slow_seconds)  # the receiver's own slowness, not a wait
            elif mode == "hold":
                self.release.wait(30)
            status = 500 if mode == "fail" else 200
            with self._lock:
                self.arrivals.append(Arrival(headers.get("webhook-id", ""), body, verified, status))
            handler.send_response(status)
            handler.send_header("content-length", "0")
            handler.end_headers()
        except OSError:
            pass  # the sender gave up (timeout): its request was received all the same
        finally:
            with self._lock:
                self.in_flight -= 1

    def accepted(self) -> list[Arrival]:
        with self._lock:
            return [a for a in self.arrivals if a.status == 200]

    def count(self, status: int) -> int:
        with self._lock:
            return sum(1 for a in self.arrivals if a.status == status)

    def accepted_ids(self) -> Counter[str]:
        return Counter(a.webhook_id for a in self.accepted())
