"""File -> text, one small function per format, each with a well-kept reader library."""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)
MAX_DOCX_XML = 20_000_000
"""Bytes of XML a .docx may unpack to: a long decree is a few MB; more is a zip bomb (the XML is parsed whole)."""
MAX_DOCX_PARTS = 200_000_000
"""Bytes all parts of a .docx (images included, read into memory) may unpack to."""


class DocumentError(Exception):
    """A file that cannot be turned into a legal text; the message names the file and the reason."""


def _decode(path: Path, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 (Unicode) and ingest again"
        ) from None


def read_txt(path: Path) -> str:
    """Plain text in UTF-8 (or UTF-16 with a byte-order mark)."""
    return _decode(path, path.read_bytes())


def read_markdown(path: Path) -> str:
    """Markdown: headings and emphasis marks dropped, the text kept line by line."""
    text = _decode(path, path.read_bytes())
    text = re.sub(r"^\s{0,3}#{1,6}\s*", "", text, flags=re.M)
    return re.sub(r"(\*\*|__|\*|`)", "", text)


def check_docx_size(path: Path) -> None:
    """Refuse a .docx whose parts unpack past the limits, before python-docx reads them into memory.

    The sizes come from the zip directory; Python's zipfile never unpacks more than a member declares."""
    try:
        with zipfile.ZipFile(path) as package:
            members = package.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise DocumentError(f"{path}: not a readable .docx file ({exc})") from None
    xml = sum(m.file_size for m in members if m.filename.endswith((".xml", ".rels")))
    total = sum(m.file_size for m in members)
    if xml > MAX_DOCX_XML or total > MAX_DOCX_PARTS:
        raise DocumentError(
            f"{path}: unpacks to {xml / 1e6:.0f} MB of XML ({total / 1e6:.0f} MB in all), more than a document "
            f"holds (limits {MAX_DOCX_XML / 1e6:.0f} MB and {MAX_DOCX_PARTS / 1e6:.0f} MB); open it in Word and "
            "save it again, or save it as PDF"
        )


def read_docx(path: Path) -> str:
    """Word .docx: body paragraphs and table cells in document order (python-docx), size checked first."""
    import docx
    from docx.document import Document as DocxDocument
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_docx_size(path)
    try:
        document: DocxDocument = docx.Document(str(path))
    except Exception as exc:  # noqa: BLE001 - python-docx raises several types for a damaged package
        raise DocumentError(f"{path}: not a readable .docx file ({exc.__class__.__name__})") from None
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            lines.append(block.text)
        elif isinstance(block, Table):
            for row in block.rows:
                for cell in row.cells:
                    lines.extend(p.text for p in cell.paragraphs)
            lines.append("")
    return "\n".join(lines)


def read_pdf(path: Path) -> str:
    """PDF with a text layer (pypdf); a scanned PDF has none and is refused. A PDF encrypted with an empty
    user password (one that only restricts copying or printing) is read; one that needs a password is refused."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except FileNotDecryptedError:
        raise DocumentError(
            f"{path}: the PDF is protected by a password; save a copy without the password and ingest that"
        ) from None
    except DependencyError as exc:
        raise DocumentError(f"{path}: encrypted PDF: {exc} (pip install 'pypdf[crypto]')") from None
    except (PyPdfError, ValueError, OSError) as exc:
        raise DocumentError(f"{path}: not a readable PDF ({exc})") from None
    return "\n\n".join(pages)


def read_html(path: Path) -> str:
    """HTML page (BeautifulSoup): scripts, styles and navigation dropped, block text line by line."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(path, path.read_bytes()), "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript", "form"]):
        tag.decompose()
    return soup.get_text("\n")


READERS: dict[str, Callable[[Path], str]] = {
    ".txt": read_txt,
    ".md": read_markdown,
    ".docx": read_docx,
    ".pdf": read_pdf,
    ".html": read_html,
    ".htm": read_html,
}


def read_text(path: Path) -> str:
    """The text of a supported file, or DocumentError saying why not (whatever the reader library raised)."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DocumentError(f"{path}: unsupported file type {path.suffix or '(none)'}; use {', '.join(READERS)}")
    try:
        text = reader(path)
    except DocumentError:
        raise
    except OSError as exc:
        raise DocumentError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except Exception as exc:  # a reader library threw on a damaged file: name it, and the others are read
        log.debug("reader for %s failed", path, exc_info=exc)
        reason = f"{exc.__class__.__name__}: {exc}"[:300]
        raise DocumentError(f"{path}: cannot be read as {path.suffix.lower()} ({reason})") from None
    if len(re.sub(r"\s", "", text)) < 20:
        hint = " (a scanned PDF without a text layer?)" if path.suffix.lower() == ".pdf" else ""
        raise DocumentError(f"{path}: no text found{hint}")
    return text
