"""Ingest files into the knowledge base: hash, skip unchanged, replace changed, prune removed.

Each document is embedded first and made live in one SQLite transaction afterwards, so an ingest that
fails or is killed half-way leaves the previous index answering as before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tqdm import tqdm

from base.settings import first_error
from ingest.readers import READERS, DocumentError, read_text
from ingest.structure import ParsedDocument, parse
from knowledge.index import ClauseIndex, Passage, build_passages
from knowledge.labels import full_title, short_name
from knowledge.records import DocumentMeta
from knowledge.register import ObligationRegister

PARSER_VERSION = "4"  # bump when parsing or passage building changes, so every file is read again


class Sidecar(BaseModel):
    """`<file>.yaml` beside a document: facts the text does not state, or states badly."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, pattern=r"^[\w.-]+$", description="doc_id (else the file's stem).")
    ten: str | None = Field(None, description="Short name used in lists and citations.")
    so_hieu: str | None = None
    loai_van_ban: str | None = None
    ngay_ban_hanh: str | None = None
    co_quan_ban_hanh: str | None = None
    trich_yeu: str | None = None
    hieu_luc: str | None = None
    sua_doi: list[str] | None = Field(None, description="Numbers of the documents it amends.")


@dataclass
class IngestReport:
    """What one ingest run did, by doc_id, and what failed, by file."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    obligations: list[str] = field(default_factory=list)  # documents whose obligations were read again

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class _Prepared:
    meta: DocumentMeta
    parsed: ParsedDocument
    passages: list[Passage]
    passage_ids: list[str]
    sha256: str
    has_articles: bool


def find_files(paths: Iterable[Path]) -> list[Path]:
    """Supported documents under the given files and folders (sidecars and hidden files skipped)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in READERS and not p.name.startswith(".")
            )
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def sidecar_path(path: Path) -> Path | None:
    """`report.txt.yaml` or `report.yaml` beside `report.txt`, if present."""
    for candidate in (path.with_name(path.name + ".yaml"), path.with_suffix(".yaml")):
        if candidate.is_file():
            return candidate
    return None


def read_sidecar(path: Path | None) -> Sidecar:
    if path is None:
        return Sidecar()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Sidecar.model_validate(raw)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DocumentError(f"{path}: sidecar cannot be read ({exc.__class__.__name__})") from None
    except ValidationError as exc:
        raise DocumentError(f"{path}: {first_error(exc)}") from None


def document_meta(path: Path, parsed: ParsedDocument, sidecar: Sidecar) -> DocumentMeta:
    """Facts from the text, overridden by the sidecar where it speaks; the short name is the sidecar's
    `ten`, else made from the type and number or subject (knowledge.labels.short_name)."""
    doc_type = sidecar.loai_van_ban or parsed.doc_type
    number = sidecar.so_hieu or parsed.number
    subject = sidecar.trich_yeu or parsed.subject
    title = sidecar.ten or short_name(doc_type, number, subject, parsed.name)
    whole = full_title(doc_type, number, subject, parsed.name)
    return DocumentMeta(
        doc_id=sidecar.id or path.stem,
        doc_type=doc_type,
        number=number,
        issued=sidecar.ngay_ban_hanh or parsed.issued,
        issuer=sidecar.co_quan_ban_hanh or parsed.issuer,
        subject=subject,
        effect=sidecar.hieu_luc or parsed.effect,
        amends=sidecar.sua_doi if sidecar.sua_doi is not None else parsed.amends,
        title=title,
        full_title=whole if len(whole) > len(title) else title,
        source=str(path),
    )


def content_hash(path: Path, sidecar: Path | None, signature: str) -> str:
    """Hash of the file, its sidecar and the settings that shape the index."""
    digest = hashlib.sha256(f"{PARSER_VERSION}|{signature}|".encode())
    digest.update(path.read_bytes())
    if sidecar:
        digest.update(sidecar.read_bytes())
    return digest.hexdigest()


class Ingester:
    """Runs ingest over files for one ClauseIndex."""

    def __init__(self, index: ClauseIndex, show_progress: bool = True) -> None:
        self.index = index
        self.show_progress = show_progress
        e = index.settings.embeddings
        self.signature = f"{e.provider}|{e.model}|{e.max_words}"

    def _prepare(self, path: Path, sha256: str, sidecar: Sidecar) -> _Prepared:
        parsed = parse(read_text(path), sidecar.id or path.stem)
        if not parsed.clauses:
            raise DocumentError(f"{path}: no clauses found in the text")
        has_articles = any(c.label.startswith("Điều") for c in parsed.clauses)
        passages, ids = build_passages(parsed.clauses, has_articles, self.index.settings.embeddings.max_words)
        return _Prepared(document_meta(path, parsed, sidecar), parsed, passages, ids, sha256, has_articles)

    def run(self, paths: Iterable[Path], prune: bool = False) -> IngestReport:
        """Ingest every supported file under `paths`; with `prune`, drop documents no longer there."""
        report = IngestReport()
        known = {row["doc_id"]: row for row in self.index.store.document_rows()}
        seen: dict[str, Path] = {}
        pending: list[_Prepared] = []
        for path in find_files(paths):
            try:
                prepared = self._parse_if_changed(path, known, seen, report)
            except DocumentError as exc:
                report.failed.append((str(path), str(exc)))
                continue
            if prepared is not None:
                pending.append(prepared)
        self._embed_and_commit(pending, known, report)
        if prune:
            for doc_id in sorted(set(known) - set(seen)):
                self.index.remove_document(doc_id)
                report.removed.append(doc_id)
        self.index.repair_vectors()  # what an earlier crash left unembedded
        self.index.compact_lexical()
        report.obligations = ObligationRegister.of(self.index.store, self.index.settings).sync()
        return report

    def _parse_if_changed(
        self, path: Path, known: dict[str, dict], seen: dict[str, Path], report: IngestReport
    ) -> _Prepared | None:
        """Parse a file unless its hash is unchanged; None when it can be skipped."""
        if not path.is_file():
            raise DocumentError(f"{path}: no such file")
        side = sidecar_path(path)
        sidecar = read_sidecar(side)
        doc_id = sidecar.id or path.stem
        if doc_id in seen:
            raise DocumentError(f"{path}: doc_id '{doc_id}' already comes from {seen[doc_id]}; set `id` in a sidecar")
        seen[doc_id] = path
        sha256 = content_hash(path, side, self.signature)
        if doc_id in known and known[doc_id]["sha256"] == sha256:
            report.unchanged.append(doc_id)
            return None
        return self._prepare(path, sha256, sidecar)

    def _embed_and_commit(self, pending: list[_Prepared], known: dict[str, dict], report: IngestReport) -> None:
        missing = {p.passage_id: p for prepared in pending for p in self.index.missing_passages(prepared.passages)}
        with tqdm(
            total=len(missing), desc="Embedding", unit="passage", disable=not self.show_progress or not missing
        ) as bar:
            for prepared in pending:
                todo = [p for p in prepared.passages if p.passage_id in missing]
                self.index.embed_passages(todo, progress=bar.update)
                self.index.commit_document(
                    prepared.meta,
                    prepared.parsed.clauses,
                    prepared.passage_ids,
                    prepared.sha256,
                    has_articles=prepared.has_articles,
                )
                (report.updated if prepared.meta.doc_id in known else report.added).append(prepared.meta.doc_id)
