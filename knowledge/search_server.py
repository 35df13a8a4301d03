"""The lexical index served over HTTP: `cchc search-server`.

With `lexical.mode: server` an answering process (the bot, `cchc ask`, `cchc chat`) holds no BM25 index: it
asks a search server, which reads the data directory's tantivy indexes as an embedded reader would and moves
to the newest committed state whenever an ingest, in any process, commits one (a reload takes
milliseconds). With the Chroma server beside it, the answering process holds nothing that grows with the
corpus (docs/scaling.md).

The reader is knowledge.remote_lexical. The protocol: JSON in; hits out as raw little-endian arrays, so
that thousands of hits cost no parsing.
- GET  /status -> {"clauses": n, "articles": m, "generation": g, "build": "lexical-..."}
- POST /search {"weights": {term: weight}, "limit": k} -> the best wordings: int64 rid, pid, since, until
  (k1 each), float64 scores; then the best passages: int64 pid, float64 scores (k2 each). Headers: X-Hits
  "k1 k2", X-Size "wordings passages" (the indexes' sizes), X-Build (the lexical-* directory searched: the
  reader checks that its own database names the same, so that ids are never read against another index).
- POST /present {"terms": [...]} -> {"present": [...]}
A bad request gets 400 and a plain message. Searches run on worker threads (tantivy lets go of the GIL);
the rest is quick and answered on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Annotated, TypeVar

import numpy as np
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from knowledge.lexical import LexicalIndex, LexicalSnapshot, Source

log = logging.getLogger(__name__)
MAX_HITS = 100_000
MAX_TERMS = 10_000
MAX_WEIGHT = 1_000.0


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    weights: dict[str, Annotated[float, Field(gt=0, le=MAX_WEIGHT, allow_inf_nan=False)]] = Field(max_length=MAX_TERMS)
    limit: int = Field(ge=1, le=MAX_HITS)


class Terms(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: list[str] = Field(max_length=MAX_TERMS)


class SearchService:
    """A data directory's lexical index, read at its newest committed state."""

    def __init__(self, lexical: LexicalIndex, source: Source) -> None:
        """Make the index usable first (rebuilt from the database, with a message, when missing or damaged)."""
        self._lexical = lexical
        self._lexical.ensure(source)
        self._lock = threading.Lock()
        self._generation = self._lexical.generation()
        self._snapshot = self._lexical.snapshot()

    def snapshot(self) -> LexicalSnapshot:
        """The newest committed state: reloaded when an ingest anywhere committed a newer one."""
        with self._lock:
            generation = self._lexical.generation()
            if generation != self._generation:
                try:
                    self._snapshot = self._lexical.snapshot()
                    log.info("searching the lexical index as of generation %d", generation[0])
                except (OSError, ValueError, RuntimeError) as exc:
                    log.warning("could not load generation %d (%s); searching the previous one", generation[0], exc)
                self._generation = generation  # tried once: the next ingest brings the next generation
            return self._snapshot

    def status(self) -> dict[str, int | str]:
        snapshot = self.snapshot()
        return {
            "clauses": snapshot.clause_count,
            "articles": snapshot.article_count,
            "generation": snapshot.generation,
            "build": snapshot.build,
        }

    def search(self, query: Query) -> tuple[bytes, dict[str, str]]:
        """Both rankings as raw arrays, and the headers that say how to read them."""
        snapshot = self.snapshot()
        clauses, articles = snapshot.search(query.weights, query.limit)
        columns = np.stack([clauses.ids, clauses.passages, clauses.since, clauses.until]).astype("<i8")
        body = b"".join(
            (
                columns.tobytes(),
                clauses.scores.astype("<f8").tobytes(),
                articles.ids.astype("<i8").tobytes(),
                articles.scores.astype("<f8").tobytes(),
            )
        )
        return body, {
            "X-Hits": f"{len(clauses.ids)} {len(articles.ids)}",
            "X-Size": f"{clauses.size} {articles.size}",
            "X-Build": snapshot.build,
        }

    def present(self, terms: Terms) -> list[str]:
        return sorted(self.snapshot().present(terms.terms))


Body = TypeVar("Body", Query, Terms)


async def _body(request: web.Request, model: type[Body]) -> Body:
    try:
        return model.model_validate_json(await request.read())
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise web.HTTPBadRequest(text=f"bad request: {problems}") from None


def search_app(service: SearchService) -> web.Application:
    """The HTTP routes over a search service."""

    async def status(_: web.Request) -> web.Response:
        return web.json_response(service.status())

    async def search(request: web.Request) -> web.Response:
        body, headers = await asyncio.to_thread(service.search, await _body(request, Query))
        return web.Response(body=body, headers=headers, content_type="application/octet-stream")

    async def present(request: web.Request) -> web.Response:
        return web.json_response({"present": service.present(await _body(request, Terms))})

    app = web.Application(client_max_size=2**22)
    app.add_routes(
        [
            web.get("/status", status),
            web.post("/search", search),
            web.post("/present", present),
        ]
    )
    return app


def run_search_server(service: SearchService, host: str, port: int, listening: Callable[[], None]) -> None:
    """Serve until interrupted; `listening` is called once the port is bound."""
    web.run_app(search_app(service), host=host, port=port, print=lambda _: listening(), access_log=None)
