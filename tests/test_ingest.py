"""Ingest pipeline: incremental by hash, replace, prune, bad files beside good ones, safe failure."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ingest.pipeline import Ingester
from ingest.structure import parse
from knowledge.embeddings import HashEmbeddings
from knowledge.index import ClauseIndex, build_passages
from tests.conftest import DATA, SAMPLE_DIRECTIVE


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SAMPLE_DIRECTIVE, folder)
    shutil.copy(DATA / "nghi-dinh-goc-mau.txt", folder)
    return folder


def ingest(index: ClauseIndex, *paths: Path, prune: bool = False):
    return Ingester(index, show_progress=False).run(list(paths), prune=prune)


def test_first_ingest_adds_and_second_skips(index: ClauseIndex, corpus: Path) -> None:
    first = ingest(index, corpus)
    assert sorted(first.added) == ["chi-thi-cchc-thi-xa", "nghi-dinh-goc-mau"] and first.ok
    assert index.store.clause("nghi-dinh-goc-mau:3.2.b") is not None
    vectors = index.vector_count()
    second = ingest(index, corpus)
    assert second.added == [] and second.updated == []
    assert sorted(second.unchanged) == ["chi-thi-cchc-thi-xa", "nghi-dinh-goc-mau"]
    assert index.vector_count() == vectors


def test_changed_file_is_replaced_and_stale_clauses_go(index: ClauseIndex, corpus: Path) -> None:
    ingest(index, corpus)
    decree = corpus / "nghi-dinh-goc-mau.txt"
    text = decree.read_text(encoding="utf-8")
    decree.write_text(
        text.replace("3. Báo cáo định kỳ hằng quý", "3. Báo cáo định kỳ sáu tháng").replace(
            "2. Có thời gian công tác tối thiểu 03 năm trong ngành.\n", ""
        ),
        encoding="utf-8",
    )
    report = ingest(index, corpus)
    assert report.updated == ["nghi-dinh-goc-mau"] and report.unchanged == ["chi-thi-cchc-thi-xa"]
    assert "sáu tháng" in index.store.clause("nghi-dinh-goc-mau:3.3").text
    assert index.store.clause("nghi-dinh-goc-mau:4.2") is None
    assert index.vector_count() == len(index.store.passage_ids())  # old vectors of changed articles dropped
    top = index.search("báo cáo định kỳ sáu tháng về tiếp nhận hồ sơ", k=1)[0]
    assert top.clause.clause_id == "nghi-dinh-goc-mau:3.3"


def test_prune_drops_documents_whose_files_are_gone(index: ClauseIndex, corpus: Path) -> None:
    ingest(index, corpus)
    (corpus / "nghi-dinh-goc-mau.txt").unlink()
    kept = ingest(index, corpus)
    assert kept.removed == [] and index.store.document("nghi-dinh-goc-mau") is not None
    pruned = ingest(index, corpus, prune=True)
    assert pruned.removed == ["nghi-dinh-goc-mau"]
    assert index.store.document("nghi-dinh-goc-mau") is None
    assert all(h.clause.doc_id == "chi-thi-cchc-thi-xa" for h in index.search("Bộ phận Tiếp nhận mẫu", k=5))


def test_bad_files_are_reported_while_the_others_go_in(index: ClauseIndex, corpus: Path) -> None:
    (corpus / "trong.txt").write_text("", encoding="utf-8")
    (corpus / "sai-ma.txt").write_bytes(b"Ch\xec th\xec v\xea c\xe0i c\xe1ch h\xe0nh ch\xednh")
    report = ingest(index, corpus)
    assert not report.ok
    assert sorted(report.added) == ["chi-thi-cchc-thi-xa", "nghi-dinh-goc-mau"]
    reasons = dict(report.failed)
    assert "no text found" in reasons[str(corpus / "trong.txt")]
    assert "not UTF-8" in reasons[str(corpus / "sai-ma.txt")]


def test_sidecar_sets_id_and_metadata(index: ClauseIndex, tmp_path: Path) -> None:
    shutil.copy(DATA / "nghi-dinh-sua-doi-mau.txt", tmp_path / "nd34.txt")
    (tmp_path / "nd34.txt.yaml").write_text(
        "id: nd-34-2099\nten: Nghị định 34/2099/NĐ-CP (mẫu)\nhieu_luc: Còn hiệu lực\n", encoding="utf-8"
    )
    report = ingest(index, tmp_path / "nd34.txt")
    assert report.added == ["nd-34-2099"]
    meta = index.store.document("nd-34-2099")
    assert meta.title == "Nghị định 34/2099/NĐ-CP (mẫu)" and meta.effect == "Còn hiệu lực"
    assert meta.number == "34/2099/NĐ-CP" and meta.amends == ["12/2099/NĐ-CP"]
    assert index.store.clause("nd-34-2099:1.2").amends == "Điều 4 Nghị định số 12/2099/NĐ-CP"


def test_bad_sidecar_names_the_key(index: ClauseIndex, tmp_path: Path) -> None:
    shutil.copy(SAMPLE_DIRECTIVE, tmp_path / "ct.txt")
    (tmp_path / "ct.yaml").write_text("id: ct\nso_hieu_sai: 1/CT\n", encoding="utf-8")
    report = ingest(index, tmp_path / "ct.txt")
    assert report.failed == [(str(tmp_path / "ct.txt"), f"{tmp_path / 'ct.yaml'}: so_hieu_sai: unknown key")]


def test_duplicate_doc_id_is_refused(index: ClauseIndex, tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(SAMPLE_DIRECTIVE, tmp_path / folder)
    report = ingest(index, tmp_path / "a", tmp_path / "b")
    assert report.added == ["chi-thi-cchc-thi-xa"]
    assert "already comes from" in report.failed[0][1]


class FailingEmbeddings(HashEmbeddings):
    """The deterministic embedder, made to fail on its n-th batch (a crash in the middle of an ingest)."""

    def __init__(self, fail_on_call: int) -> None:
        super().__init__()
        self._calls = 0
        self._fail_on_call = fail_on_call

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self._calls += 1
        if self._calls == self._fail_on_call:
            raise RuntimeError("disk full")
        return super().embed_documents(texts)


def test_failure_half_way_leaves_the_previous_index_usable(settings, hashing: HashEmbeddings, corpus: Path) -> None:
    ingest(ClauseIndex(settings, embeddings=hashing), corpus)
    decree = corpus / "nghi-dinh-goc-mau.txt"
    decree.write_text(decree.read_text(encoding="utf-8").replace("hằng quý", "hằng tháng"), encoding="utf-8")
    (corpus / "ke-hoach-mau.txt").write_text((DATA / "ke-hoach-mau.txt").read_text(encoding="utf-8"))
    broken = ClauseIndex(settings, embeddings=FailingEmbeddings(fail_on_call=1))
    with pytest.raises(RuntimeError, match="disk full"):
        ingest(broken, corpus)
    reopened = ClauseIndex(settings, embeddings=hashing)
    assert "hằng quý" in reopened.store.clause("nghi-dinh-goc-mau:3.3").text  # the old text still answers
    assert reopened.search("Báo cáo định kỳ hằng quý về tình hình tiếp nhận hồ sơ", k=1)[0].clause.loc == "3.3"
    report = ingest(reopened, corpus)  # and the next run finishes the job
    assert sorted(report.added + report.updated) == ["ke-hoach-mau", "nghi-dinh-goc-mau"]
    assert "hằng tháng" in reopened.store.clause("nghi-dinh-goc-mau:3.3").text


def test_lost_vectors_are_embedded_again_on_the_next_ingest(index: ClauseIndex, corpus: Path) -> None:
    ingest(index, corpus)
    lost = index.vectors.collection.get(include=[])["ids"][:3]
    index.vectors.delete(lost)
    report = ingest(index, corpus)
    assert report.added == [] and report.updated == []
    assert index.vector_count() == len(index.store.passage_ids())
    assert set(lost) <= index.vectors.existing(lost)


def test_a_lost_vector_is_found_even_when_other_vectors_fill_its_count(index: ClauseIndex, corpus: Path) -> None:
    """Vectors no clause uses (left by an older version) must not hide one that a clause needs."""
    ingest(index, corpus)
    (lost, *_) = index.vectors.collection.get(include=[])["ids"]
    index.vectors.delete([lost])
    index.vectors.add(
        ["leftover:1#000000000000"],
        index.embeddings.embed_documents(["cũ"]),
        ["cũ"],
        [{"doc_id": "leftover", "group": "1"}],
    )
    assert index.vector_count() == len(index.store.passage_ids())
    assert index.repair_vectors() == 1 and index.vectors.existing([lost]) == {lost}


def test_a_passage_built_otherwise_now_is_named_for_a_new_ingest(
    index: ClauseIndex, corpus: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ingest(index, corpus)
    doc_id, passage = index.store.db.execute("SELECT doc_id, passage FROM clauses ORDER BY doc_id LIMIT 1").fetchone()
    index.store.db.execute("UPDATE clauses SET passage = ? WHERE passage = ?", [f"{doc_id}:old#abc", passage])
    index.vectors.delete([passage])
    assert index.repair_vectors() == 0
    assert f"{doc_id}: 1 passage(s) have no vector" in caplog.text and "cchc ingest" in caplog.text


# ------------------------------------------------------------------------------- unreadable files

DIRECTIVE_LINES = [
    "CHỈ THỊ",
    "Về việc bảo vệ tệp văn bản",
    "1. Văn phòng lưu bản PDF có mật khẩu chủ sở hữu, không cho sao chép.",
    "2. Các phòng chuyên môn gửi báo cáo trước ngày 20 tháng 5 năm 2099.",
]


def text_pdf(path: Path) -> Path:
    """A PDF with a Vietnamese text layer (fpdf2, DejaVu Sans)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("DejaVu", fname="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    pdf.set_font("DejaVu", size=11)
    for line in DIRECTIVE_LINES:
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def encrypted_pdf(source: Path, target: Path, user_password: str) -> None:
    """The same PDF encrypted with AES-128: an owner password always, a user password when given."""
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=source)
    writer.encrypt(user_password=user_password, owner_password="chu-so-huu", algorithm="AES-128")
    with target.open("wb") as handle:
        writer.write(handle)


def certificate_protected_pdf(target: Path) -> None:
    """A PDF under public-key (certificate) security, which pypdf does not implement and raises on."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << >> >>",
        b"<< /Length 3 >>\nstream\nq Q\nendstream",
        b"<< /Filter /Adobe.PubSec /SubFilter /adbe.pkcs7.s5 /V 4 /R 4 /Length 128 >>",
    ]
    data, offsets = b"%PDF-1.6\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(data))
        data += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(data)
    data += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    data += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    file_id = "<00112233445566778899aabbccddeeff>"
    data += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Encrypt 5 0 R /ID [{file_id} {file_id}] >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    target.write_bytes(data)


def docx_bomb(target: Path, megabytes: int) -> None:
    """A small .docx whose document.xml unpacks to `megabytes` MB of empty paragraphs."""
    import zipfile

    import docx

    document = docx.Document()
    for line in DIRECTIVE_LINES:
        document.add_paragraph(line)
    plain = target.with_suffix(".plain")
    document.save(str(plain))
    padding = "<w:p/>" * (megabytes * 1_000_000 // 6)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as bomb:
        for member in source.infolist():
            data = source.read(member)
            if member.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body>" + padding.encode(), 1)
            bomb.writestr(member.filename, data)
    plain.unlink()


def test_unreadable_files_are_reported_by_name_and_the_others_go_in(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cchc.cli import cli

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE_DIRECTIVE, corpus)
    plain = text_pdf(tmp_path / "plain.pdf")
    encrypted_pdf(plain, corpus / "chong-sao-chep.pdf", user_password="")  # opens without a password
    encrypted_pdf(plain, corpus / "co-mat-khau.pdf", user_password="mat-khau")
    certificate_protected_pdf(corpus / "chung-thu-so.pdf")
    docx_bomb(corpus / "bom-xml.docx", megabytes=30)
    assert (corpus / "bom-xml.docx").stat().st_size < 200_000

    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), "ingest", "--quiet", str(corpus)])
    assert result.exit_code == 1, result.output
    assert "added: chi-thi-cchc-thi-xa" in result.output and "added: chong-sao-chep" in result.output
    failed = {line.split(": ", 2)[1]: line for line in result.output.splitlines() if line.startswith("FAILED: ")}
    assert sorted(Path(name).name for name in failed) == ["bom-xml.docx", "chung-thu-so.pdf", "co-mat-khau.pdf"]
    assert "protected by a password" in failed[str(corpus / "co-mat-khau.pdf")]
    assert "only Standard PDF encryption handler is available" in failed[str(corpus / "chung-thu-so.pdf")]
    assert re.search(r"unpacks to 3\d MB of XML .* \(limits 20 MB", failed[str(corpus / "bom-xml.docx")])
    shown = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), "show", "chong-sao-chep:2"])
    assert "trước ngày 20 tháng 5 năm 2099" in shown.output


def test_a_law_article_is_embedded_by_its_first_words_and_a_directive_clause_whole() -> None:
    filler = " ".join(f"nội dung{i}" for i in range(150))  # 300 words
    law = parse(f"Điều 1. Phạm vi điều chỉnh\n1. {filler} hạn cuối của điều.\n", "luat")
    directive = parse(f"1. Các phòng thực hiện {filler} gửi báo cáo trước ngày 15 tháng 4.\n", "chi-thi")
    (article,), _ = build_passages(law.clauses, True, 200)
    (clause,), _ = build_passages(directive.clauses, False, 200)
    assert len(article.text.split()) == 200 and "hạn cuối" not in article.text
    assert clause.text.endswith("gửi báo cáo trước ngày 15 tháng 4.")
