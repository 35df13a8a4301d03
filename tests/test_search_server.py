"""The lexical side out of the answering process: a real `cchc search-server` over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner

from base.serving import SearchServerUnavailable
from cchc.cli import cli
from devtools.bot_harness import approve, ask, running_bot
from devtools.chroma_server import free_port
from devtools.search_server import search_server
from ingest.pipeline import Ingester
from knowledge.answer import answer
from knowledge.embeddings import HashEmbeddings
from knowledge.evaluation import load_questions, unaccented
from knowledge.index import ClauseIndex, Hit
from office.users import UserStore
from tests.conftest import DATA, ROOT, SAMPLE_CORPUS, SHARED, make_settings

DECREE = DATA / "nghi-dinh-goc-mau.txt"
DECREE_QUESTION = "Bộ phận Tiếp nhận mẫu có nhiệm vụ gì khi tiếp nhận hồ sơ?"


@dataclass
class Served:
    """The sample directive in a data dir, a search server on it, and a reader of each kind."""

    data_dir: Path
    port: int
    embedded: ClauseIndex
    remote: ClauseIndex


@pytest.fixture
def served(tmp_path: Path, hashing: HashEmbeddings) -> Iterator[Served]:
    data_dir = tmp_path / "data"
    writer = ClauseIndex(make_settings(data_dir), embeddings=hashing)
    assert Ingester(writer, show_progress=False).run([SAMPLE_CORPUS]).added == ["chi-thi-cchc-thi-xa"]
    with search_server(ROOT / "config.yaml", data_dir) as (port, _):
        remote = ClauseIndex(make_settings(data_dir, lexical={"mode": "server", "port": port}), embeddings=hashing)
        yield Served(data_dir, port, writer, remote)


def ranking(hits: list[Hit]) -> list[tuple[str, str, float]]:
    return [(h.clause.doc_id, h.clause.loc, round(h.score, 9)) for h in hits]


def test_answers_through_the_server_are_those_of_the_index_read_in_process(served: Served) -> None:
    questions = load_questions(SHARED / "eval" / "dev-chithi.yaml")
    for question in questions + unaccented(questions):
        embedded = served.embedded.search(question.text, k=10)
        assert ranking(served.remote.search(question.text, k=10)) == ranking(embedded)
        assert embedded and embedded[0].score != embedded[-1].score  # a real ranking, not a tie
    for text in ("Báo cáo CCHC định kỳ mấy lần một năm?", "Giá vàng hôm nay bao nhiêu?"):
        assert answer(served.remote, text) == answer(served.embedded, text)


def test_the_server_follows_ingests_and_rebuilds_made_elsewhere(
    served: Served, tmp_path: Path, hashing: HashEmbeddings
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DECREE, corpus)
    assert all(h.clause.doc_id != "nghi-dinh-goc-mau" for h in served.remote.search(DECREE_QUESTION, k=3))

    assert Ingester(served.embedded, show_progress=False).run([corpus]).added == ["nghi-dinh-goc-mau"]
    served.remote.refresh()  # the vectors (embedded here) reload; the lexical side is the server's
    found = served.remote.search(DECREE_QUESTION, k=10)
    assert found[0].clause.doc_id == "nghi-dinh-goc-mau"
    assert ranking(found) == ranking(fresh_reader(served.data_dir, hashing).search(DECREE_QUESTION, k=10))

    served.embedded.remove_document("nghi-dinh-goc-mau")
    served.embedded.compact_lexical()  # a new build in a new directory: the server moves to it
    served.remote.refresh()
    gone = served.remote.search(DECREE_QUESTION, k=10)
    assert all(h.clause.doc_id != "nghi-dinh-goc-mau" for h in gone)
    assert ranking(gone) == ranking(fresh_reader(served.data_dir, hashing).search(DECREE_QUESTION, k=10))


def fresh_reader(data_dir: Path, hashing: HashEmbeddings) -> ClauseIndex:
    return ClauseIndex(make_settings(data_dir), embeddings=hashing)


def test_bad_requests_get_a_plain_refusal_and_the_server_goes_on(served: Served) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{served.port}", timeout=10) as client:
        for path, body in (
            ("/search", b'{"weights": {"bao_cao": "many"}, "limit": 5}'),
            ("/search", b'{"weights": {}, "limit": 0}'),
            ("/present", b'{"terms": "bao_cao"}'),
            ("/search", b"not json"),
            ("/search", b'{"weights": {"bao_cao": NaN}, "limit": 5}'),
            ("/search", b'{"weights": {"bao_cao": -1}, "limit": 5}'),
            ("/search", b'{"weights": {"bao_cao": 1}, "limit": "5"}'),
        ):
            refused = client.post(path, content=body)
            assert refused.status_code == 400 and refused.text.startswith("bad request: ")
        assert "weights.bao_cao" in client.post("/search", content=b'{"weights": {"bao_cao": "x"}, "limit": 5}').text
        status = client.get("/status").json()
        held = served.embedded.store.db.execute("SELECT count(*) FROM lexical_rows").fetchone()[0]
        assert status["clauses"] == held > 0 and status["generation"] >= 1
        assert client.post("/present", json={"terms": ["bao_cao", "khong_co_dau"]}).json() == {"present": ["bao_cao"]}


def test_a_search_server_that_does_not_answer_is_named(tmp_path: Path, hashing: HashEmbeddings) -> None:
    data_dir = tmp_path / "data"
    Ingester(ClauseIndex(make_settings(data_dir), embeddings=hashing), show_progress=False).run([SAMPLE_CORPUS])
    port = free_port()
    remote = ClauseIndex(make_settings(data_dir, lexical={"mode": "server", "port": port}), embeddings=hashing)
    with pytest.raises(SearchServerUnavailable, match=f"127.0.0.1:{port} did not answer.*cchc search-server"):
        remote.search("hạn nộp báo cáo")
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["embeddings"]["provider"] = "hashing"
    config["lexical"].update(mode="server", port=port)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["--config", str(tmp_path / "config.yaml"), "--data-dir", str(data_dir), "ask", "hạn nộp báo cáo"]
    )
    assert result.exit_code == 1 and "did not answer" in result.output and "Traceback" not in result.output


async def test_officials_are_told_when_the_search_server_is_down(
    tmp_path: Path, hashing: HashEmbeddings, stand_in, users: UserStore
) -> None:
    data_dir = tmp_path / "data"
    Ingester(ClauseIndex(make_settings(data_dir), embeddings=hashing), show_progress=False).run([SAMPLE_CORPUS])
    settings = make_settings(data_dir, lexical={"mode": "server", "port": free_port()})
    approve(users, 2002)
    async with running_bot(settings, stand_in, ClauseIndex(settings, embeddings=hashing), users):
        reply = await ask(stand_in, 2002, "Hạn chót gửi báo cáo kiểm điểm là ngày nào?", "tra cứu văn bản")
        assert "tạm thời không hoạt động" in reply.text


def test_a_search_server_of_another_data_directory_is_refused(
    served: Served, tmp_path: Path, hashing: HashEmbeddings
) -> None:
    other = tmp_path / "other"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DECREE, corpus)
    Ingester(ClauseIndex(make_settings(other), embeddings=hashing), show_progress=False).run([corpus])
    wrong = ClauseIndex(make_settings(other, lexical={"mode": "server", "port": served.port}), embeddings=hashing)
    with pytest.raises(SearchServerUnavailable, match=r"not lexical-\w+ of this data directory"):
        wrong.search(DECREE_QUESTION)


async def test_another_service_on_the_search_servers_port_is_named(
    tmp_path: Path, hashing: HashEmbeddings, stand_in
) -> None:
    data_dir = tmp_path / "data"
    Ingester(ClauseIndex(make_settings(data_dir), embeddings=hashing), show_progress=False).run([SAMPLE_CORPUS])
    settings = make_settings(data_dir, lexical={"mode": "server", "port": stand_in.port})  # the Bot API stand-in
    with pytest.raises(SearchServerUnavailable, match=r"is not a search server \(HTTP 404 for /status\)"):
        await asyncio.to_thread(ClauseIndex(settings, embeddings=hashing).search, "hạn nộp báo cáo")
