"""Each reader on a small file the test writes, and the bad files that must be refused by name."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from pypdf import PdfWriter

from ingest.readers import DocumentError, read_text
from ingest.structure import parse

DIRECTIVE = [
    "CHỈ THỊ",
    "Về việc thử nghiệm đọc tệp",
    "1. Các phòng chuyên môn thực hiện cải cách hành chính.",
    "a) Gửi báo cáo trước ngày 15 tháng 4 năm 2099.",
    "b) Niêm yết thủ tục hành chính đúng quy định.",
]
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian fonts-dejavu-core


def assert_parsed(text: str) -> None:
    clauses = {c.loc: c.text for c in parse(text, "t").clauses}
    assert clauses["1.a"] == "a) Gửi báo cáo trước ngày 15 tháng 4 năm 2099."
    assert clauses["1.b"].startswith("b) Niêm yết thủ tục hành chính")


def test_txt(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("\n".join(DIRECTIVE), encoding="utf-8")
    assert_parsed(read_text(path))


def test_txt_utf16_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes("\n".join(DIRECTIVE).encode("utf-16"))
    assert_parsed(read_text(path))


def test_markdown(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("# CHỈ THỊ\n" + "\n".join(DIRECTIVE[1:2]) + "\n\n**" + "\n".join(DIRECTIVE[2:]) + "**\n")
    assert_parsed(read_text(path))


def test_docx_with_header_table(tmp_path: Path) -> None:
    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "ỦY BAN NHÂN DÂN THỊ XÃ MẪU"
    table.cell(0, 1).text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    for line in DIRECTIVE:
        document.add_paragraph(line)
    path = tmp_path / "a.docx"
    document.save(str(path))
    text = read_text(path)
    assert_parsed(text)
    assert parse(text, "t").issuer == "Ủy ban nhân dân thị xã mẫu"


def test_pdf_with_text_layer(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=11)
    for line in DIRECTIVE:
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    path = tmp_path / "a.pdf"
    pdf.output(str(path))
    assert_parsed(read_text(path))


def test_html(tmp_path: Path) -> None:
    body = "".join(f"<p>{line}</p>" for line in DIRECTIVE)
    path = tmp_path / "a.html"
    path.write_text(
        f"<html><head><style>p{{}}</style><script>var x=1;</script></head><body><nav>Trang chủ</nav>"
        f"{body}</body></html>",
        encoding="utf-8",
    )
    text = read_text(path)
    assert "var x" not in text and "Trang chủ" not in text
    assert_parsed(text)


def test_scanned_pdf_without_text_is_refused(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    path = tmp_path / "scan.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    with pytest.raises(DocumentError, match=r"scan\.pdf: no text found \(a scanned PDF"):
        read_text(path)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "no text found"),
        ("legacy.txt", b"Ch\xec th\xec v\xea c\xe0i c\xe1ch h\xe0nh ch\xednh 2099 (cp1258)", "not UTF-8"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "not a readable .docx"),
        ("broken.pdf", b"%PDF-1.4 garbage", "not a readable PDF"),
        ("table.xlsx", b"whatever", "unsupported file type .xlsx"),
    ],
)
def test_bad_files_name_the_file_and_reason(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError) as error:
        read_text(path)
    assert str(error.value).startswith(str(path)) and reason in str(error.value)
