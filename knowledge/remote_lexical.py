"""The reader of a search server (`cchc search-server`, knowledge.search_server): what a LexicalSnapshot
answers, over HTTP, for an answering process configured with `lexical.mode: server`."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import httpx
import numpy as np

from base.serving import SearchServerUnavailable
from base.settings import LexicalSettings
from knowledge.lexical import ClauseHits, Hits


class SearchClient:
    """The HTTP connection to a search server (thread-safe; kept open between questions)."""

    def __init__(self, settings: LexicalSettings) -> None:
        self.url = settings.url
        self.timeout = settings.timeout
        self._client = httpx.Client(base_url=self.url, timeout=settings.timeout, trust_env=False)  # never via a proxy

    def call(self, method: str, path: str, body: dict | None = None) -> httpx.Response:
        """One request; SearchServerUnavailable, saying which of the likely causes it was, when the server does
        not answer, or answers as no search server would."""
        try:
            response = self._client.request(method, path, json=body)
        except httpx.TimeoutException:
            raise SearchServerUnavailable(
                f"the search server at {self.url} did not answer {path} within {self.timeout:g} s "
                "(lexical.timeout): it runs but is stuck or overloaded; see its log (journalctl -u cchc-search)"
            ) from None
        except httpx.HTTPError as exc:
            raise SearchServerUnavailable(
                f"the search server at {self.url} did not answer ({exc.__class__.__name__}: {exc}); "
                "start it with `cchc search-server`, or set lexical.mode: embedded in config.yaml"
            ) from None
        if response.status_code in (404, 405):
            raise SearchServerUnavailable(
                f"{self.url} is not a search server (HTTP {response.status_code} for {path}): is lexical.port "
                "the port of `cchc search-server`?"
            )
        if response.status_code != 200:
            reason = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
            raise SearchServerUnavailable(
                f"the search server at {self.url} refused {path} (HTTP {response.status_code}): {reason}"
            )
        return response


class RemoteLexical:
    """The lexical side read from a search server: what a LexicalSnapshot answers, over HTTP. One is made per
    generation of the index (the server is at that generation or newer), so its sizes are asked once."""

    def __init__(self, client: SearchClient, build: Callable[[], str]) -> None:
        self._client = client
        self._build = build  # the build this data directory's SQLite names now
        self._sizes: tuple[int, int] | None = None

    def _size(self, which: int) -> int:
        if self._sizes is None:
            status = self._client.call("GET", "/status").json()
            self._sizes = (int(status["clauses"]), int(status["articles"]))
        return self._sizes[which]

    @property
    def clause_count(self) -> int:
        return self._size(0)

    @property
    def article_count(self) -> int:
        return self._size(1)

    def search(self, weights: dict[str, float], limit: int) -> tuple[ClauseHits, Hits]:
        return _hits(self._searched_here({"weights": weights, "limit": limit}))

    def _searched_here(self, body: dict) -> httpx.Response:
        """The server's answer, once it is known to search the build this data directory's database names
        (ids read against another index would name unrelated clauses)."""
        response = self._client.call("POST", "/search", body)
        if response.headers.get("X-Build") != self._build():  # or a rebuild committed between the two reads
            response = self._client.call("POST", "/search", body)
            if (served := response.headers.get("X-Build")) != (here := self._build()):
                raise SearchServerUnavailable(
                    f"the search server at {self._client.url} serves the lexical index {served}, not {here} of this "
                    "data directory: it was started on another data directory, or before a restore; restart it "
                    "with the same CCHC_DATA_DIR and config.yaml"
                )
        return response

    def present(self, terms: Iterable[str]) -> set[str]:
        return set(self._client.call("POST", "/present", {"terms": list(terms)}).json()["present"])


def _hits(response: httpx.Response) -> tuple[ClauseHits, Hits]:
    """Both rankings from a /search answer (layout in knowledge.search_server)."""
    if "X-Hits" not in response.headers or "X-Size" not in response.headers:
        raise SearchServerUnavailable(f"{response.url} answered without its hits: not a search server")
    content = response.content
    wordings, passages = (int(n) for n in response.headers["X-Hits"].split())
    sizes = [int(n) for n in response.headers["X-Size"].split()]
    columns = np.frombuffer(content, dtype="<i8", count=4 * wordings).reshape(4, wordings).astype(np.int64)
    at = 32 * wordings
    scores = np.frombuffer(content, dtype="<f8", count=wordings, offset=at).astype(np.float64)
    at += 8 * wordings
    pids = np.frombuffer(content, dtype="<i8", count=passages, offset=at).astype(np.int64)
    article_scores = np.frombuffer(content, dtype="<f8", count=passages, offset=at + 8 * passages).astype(np.float64)
    clauses = ClauseHits(columns[0], scores, sizes[0], columns[1], columns[2], columns[3])
    return clauses, Hits(pids, article_scores, sizes[1])
