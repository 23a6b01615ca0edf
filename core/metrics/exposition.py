"""The /metrics answer: the newest families, encoded once, served from memory as a WSGI app.

Why not prometheus_client's own app, which encodes on every scrape: encoding is the bulk of
a scrape's work. Here :func:`encode` writes the Prometheus text format and OpenMetrics once
per sample, and a scrape only negotiates the format
(prometheus_client's ``choose_encoder``, so both behave exactly as the library's) and writes
bytes. Other formats and gzip are encoded on first request and kept until the next families;
``name[]`` filters and methods other than GET, HEAD and OPTIONS go to the library's app over
the same registry; HEAD answers as GET would, without the body. Whether to gzip is decided
here for every request (:func:`gzip_wanted`: the header's weights, which the library's
substring check ignores), and the library's app is handed that decision as its header.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final
from urllib.parse import parse_qs

from prometheus_client.core import Metric
from prometheus_client.exposition import choose_encoder, make_wsgi_app
from prometheus_client.registry import CollectorRegistry

from core.metrics.accept_encoding import gzip_wanted

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Bodies = dict[tuple[str, bool], bytes]
"""Encoded bodies by (content type, gzipped)."""
PREENCODED: Final = ("text/plain; version=0.0.4", "application/openmetrics-text; version=1.0.0")
"""What Prometheus and curl ask for: encoded as soon as new families arrive."""
ALLOWED: Final = "OPTIONS,GET,HEAD"
"""The methods /metrics answers (others get the library's 405)."""


class Exposition:
    """Holds the newest metric families and their encodings; is the WSGI app serving them."""

    def __init__(self) -> None:
        """Empty until the first :meth:`replace` (the HTTP child serves it only from then on;
        before, a scrape gets 503: see core.metrics.server)."""
        self._families: tuple[Metric, ...] = ()
        self._bodies: Bodies = {}
        # Only tcpscope's series: no process or platform collectors (node_exporter has those).
        self.registry = CollectorRegistry(
            auto_describe=False, support_collectors_without_names=True
        )
        self.registry.register(self)
        self._library_app = make_wsgi_app(self.registry)

    def collect(self) -> Iterator[Metric]:
        """The newest families (the registry calls this when it encodes)."""
        return iter(self._families)

    def replace(self, families: Sequence[Metric], bodies: Bodies) -> None:
        """Serve ``families`` from now on, with ``bodies`` (:func:`encode`) already encoded."""
        # Two reference swaps; a scrape in between gets the new families' bodies at worst
        # one sample late, never a mix within one body.
        self._families = tuple(families)
        self._bodies = dict(bodies)

    def body(self, accept: str, gzipped: bool) -> tuple[bytes, str]:
        """(body, content type) for an Accept header; cached until the next families."""
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
        method = environ.get("REQUEST_METHOD")
        if method == "HEAD":
            return self._head(environ, start_response)
        if method == "OPTIONS":  # the library's says "OPTIONS,GET"
            start_response("200 OK", [("Allow", ALLOWED), ("Content-Length", "0")])
            return []
        query = parse_qs(environ.get("QUERY_STRING", ""))
        gzipped = gzip_wanted(environ.get("HTTP_ACCEPT_ENCODING"))
        if method != "GET" or "name[]" in query:
            # The library gzips when "gzip" is in the header: it gets exactly that or nothing.
            plain = {k: v for k, v in environ.items() if k != "HTTP_ACCEPT_ENCODING"}
            decided = {**plain, "HTTP_ACCEPT_ENCODING": "gzip"} if gzipped else plain
            answer: Iterable[bytes] = self._library_app(decided, start_response)
            return answer
        body, content_type = self.body(environ.get("HTTP_ACCEPT", ""), gzipped)
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        if gzipped:
            headers.append(("Content-Encoding", "gzip"))
        start_response("200 OK", headers)
        return [body]

    def _head(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """HEAD: the status and headers GET would give, without the body.

        Why: load balancers and uptime checks probe with HEAD, and prometheus_client's app
        (which ``name[]`` filters go to) answers it 405. The GET answer is made, as it would
        be, and only its body dropped, so the Content-Length is the one GET would send.
        """
        answered: list[tuple[str, list[tuple[str, str]]]] = []

        def keep(status: str, headers: list[tuple[str, str]], *_: Any) -> Callable[[bytes], None]:
            answered.append((status, headers))
            return lambda data: None

        body = b"".join(self({**environ, "REQUEST_METHOD": "GET"}, keep))
        status, headers = answered[-1]
        if not any(name.lower() == "content-length" for name, _ in headers):
            headers = [*headers, ("Content-Length", str(len(body)))]
        start_response(status, headers)
        return []


def encode(families: Sequence[Metric]) -> Bodies:
    """``families`` in the formats of :data:`PREENCODED`, keyed as :meth:`Exposition.body`
    looks them up (done by the sampling process, so the HTTP process only swaps bytes)."""
    staged = _Staged(tuple(families))
    bodies: Bodies = {}
    for accept in PREENCODED:
        encoder, content_type = choose_encoder(accept)
        bodies[(content_type, False)] = encoder(staged)
    return bodies


class _Staged:
    """A collector-shaped holder of families, for prometheus_client's encoders."""

    def __init__(self, families: tuple[Metric, ...]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)
