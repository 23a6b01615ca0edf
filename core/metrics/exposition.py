"""The /metrics answer: encoded once per sample, served from memory as a WSGI app.

Why not prometheus_client's own app, which encodes on every scrape: at 50k sockets the sampler
and aggregation threads hold the GIL most of each second, and a scrape that has to run the
encoder's few thousand bytecodes waits behind them again and again. Here the update thread
encodes the Prometheus text format and OpenMetrics right after building the families, and a
scrape only negotiates the format (prometheus_client's ``choose_encoder``, so both formats
behave exactly as the library's) and writes bytes. Other formats, gzip and ``name[]`` filters
are encoded on first request, or served by the library's app.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable
from typing import Any, Final
from urllib.parse import parse_qs

from prometheus_client.exposition import choose_encoder, gzip_accepted, make_wsgi_app

from core.connections.snapshot import Snapshot
from core.metrics.collector import SnapshotCollector, make_registry

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
PREENCODED: Final = ("text/plain; version=0.0.4", "application/openmetrics-text; version=1.0.0")
"""What Prometheus and curl ask for: encoded with every sample, before anyone asks."""


class Exposition:
    """The collector, its registry and the encoded bodies of the newest sample."""

    def __init__(self, top: int) -> None:
        """``top``: how many process names keep their own ``process`` label."""
        self.collector = SnapshotCollector(top)
        self.registry = make_registry(self.collector)
        self._bodies: dict[tuple[str, bool], bytes] = {}
        self._library_app = make_wsgi_app(self.registry)

    def update(self, snap: Snapshot) -> None:
        """Build and encode the families of ``snap`` (blocking; run it off the event loop)."""
        self.collector.update(snap)
        bodies: dict[tuple[str, bool], bytes] = {}
        for accept in PREENCODED:
            encoder, content_type = choose_encoder(accept)
            bodies[(content_type, False)] = encoder(self.registry)
        self._bodies = bodies  # one reference swap: scrapes see the old or the new set

    def body(self, accept: str, gzipped: bool) -> tuple[bytes, str]:
        """(body, content type) for an Accept header; cached until the next sample."""
        encoder, content_type = choose_encoder(accept)
        bodies = self._bodies
        found = bodies.get((content_type, gzipped))
        if found is None:
            plain = bodies.get((content_type, False))
            if plain is None:
                plain = bodies[(content_type, False)] = encoder(self.registry)
            found = bodies[(content_type, gzipped)] = gzip.compress(plain) if gzipped else plain
        return found, content_type

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """The WSGI app: any path answers with the metrics, like prometheus_client's."""
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if environ.get("REQUEST_METHOD") != "GET" or "name[]" in query:
            answer: Iterable[bytes] = self._library_app(environ, start_response)
            return answer
        gzipped = gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING", ""))
        body, content_type = self.body(environ.get("HTTP_ACCEPT", ""), gzipped)
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        if gzipped:
            headers.append(("Content-Encoding", "gzip"))
        start_response("200 OK", headers)
        return [body]
