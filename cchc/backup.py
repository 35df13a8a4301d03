"""Back up a data directory while `cchc serve` runs, and restore a backup into an empty data directory.

A backup is a folder holding
- cchc.db: users, audit, tasks, reminders, announcements, deliveries and the knowledge base's clauses,
  copied with SQLite's online backup API (one consistent moment, whatever the bot writes meanwhile);
- chroma/: the vectors of exactly the passages that copy of cchc.db needs, read through Chroma's API;
- attachments/: the files of announcements;
- backup.json: when, from where, and how many rows of each table.

A vector is keyed by its passage's text, so the copied vectors always match the copied clauses; one that
Chroma lacked at that moment (an ingest running beside the backup) is embedded again from SQLite on restore.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from base.database import copy_database, utc_now
from base.serving import one_writer, someone_serving
from base.settings import Settings

log = logging.getLogger(__name__)

MANIFEST = "backup.json"
DATABASE = "cchc.db"
VECTORS = "chroma"
ATTACHMENTS = "attachments"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class BackupReport:
    """What a backup holds (rows per table) and how many vectors it copied or will need again."""

    folder: Path
    tables: dict[str, int]
    vectors: int
    missing_vectors: int


@dataclass(frozen=True)
class RestoreReport:
    """What a restore put in place, and where the data directory it replaced was moved."""

    tables: dict[str, int]
    embedded: int
    moved_aside: Path | None


def backup(settings: Settings, folder: Path) -> BackupReport:
    """Write a consistent copy of the data directory into `folder` (new or empty)."""
    from knowledge.index import chroma_client, copy_vectors

    if not settings.database_path.is_file():
        raise BackupError(f"{settings.database_path}: no database, nothing to back up (wrong --data-dir?)")
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty: back up into a new folder")
    copy_database(settings.database_path, folder / DATABASE)
    snapshot = sqlite_utils.Database(folder / DATABASE)
    needed = (
        {row[0] for row in snapshot.execute("SELECT DISTINCT passage FROM clauses")}
        if "clauses" in snapshot.table_names()
        else set()
    )
    copied, missing = copy_vectors(
        chroma_client(settings), chroma_client(settings, folder / VECTORS), settings.chroma.collection, needed
    )
    attachments = settings.data_dir / ATTACHMENTS
    if attachments.is_dir():  # after the snapshot: every file its announcements name is already written
        shutil.copytree(attachments, folder / ATTACHMENTS)
    tables = row_counts(snapshot)
    snapshot.close()
    manifest = {
        "format": 1,
        "created_at": utc_now(),
        "source": str(settings.data_dir.resolve()),
        "tables": tables,
        "vectors": copied,
        "missing_vectors": missing,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return BackupReport(folder, tables, copied, missing)


def row_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Rows per table (migration bookkeeping left out)."""
    return {name: db.table(name).count for name in db.table_names() if not name.startswith("_")}


def read_manifest(folder: Path) -> dict:
    """The manifest of a backup folder, or a clear error when the folder is not one."""
    try:
        manifest: dict = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise BackupError(f"{folder} is not a backup made by `cchc backup` (no readable {MANIFEST})") from None
    if not (folder / DATABASE).is_file():
        raise BackupError(f"{folder}: {DATABASE} is missing from the backup")
    return manifest


def restore(settings: Settings, folder: Path, force: bool = False) -> RestoreReport:
    """Put a backup in place as the data directory; a non-empty one is moved aside only with `force`."""
    from knowledge.index import ClauseIndex, chroma_client, copy_vectors

    manifest = read_manifest(folder)
    target = settings.data_dir
    occupied = target.exists() and any(target.iterdir())
    if occupied and not force:
        raise BackupError(
            f"{target} is not empty: restore into an empty data directory (--data-dir), or add --force to "
            "move this one aside first (stop `cchc serve` and any `cchc search-server` before)"
        )
    if occupied and someone_serving(target):
        raise BackupError(
            f"a bot or search server is answering from {target}: stop it first (systemctl stop cchc cchc-search), "
            "then restore; nothing was changed"
        )
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    staging = target.with_name(f"{target.name}.restoring-{stamp}")
    copy_database(folder / DATABASE, staging / DATABASE)
    relocate_attachments(staging / DATABASE, Path(manifest["source"]) / ATTACHMENTS, target.resolve() / ATTACHMENTS)
    if (folder / ATTACHMENTS).is_dir():
        shutil.copytree(folder / ATTACHMENTS, staging / ATTACHMENTS)
    if (folder / VECTORS).is_dir():
        shutil.copytree(folder / VECTORS, staging / VECTORS)
    if settings.chroma.mode == "server" and (staging / VECTORS).is_dir():
        copy_vectors(chroma_client(settings, staging / VECTORS), chroma_client(settings), settings.chroma.collection)
        shutil.rmtree(staging / VECTORS)
    moved_aside = None
    if occupied:
        moved_aside = target.with_name(f"{target.name}.before-restore-{stamp}")
        target.rename(moved_aside)
    elif target.exists():
        target.rmdir()
    staging.rename(target)
    with one_writer(target, lambda: log.warning("waiting for another ingest into %s to finish", target)):
        embedded = ClauseIndex(settings).repair_vectors()
    return RestoreReport(row_counts(sqlite_utils.Database(target / DATABASE)), embedded, moved_aside)


def relocate_attachments(database: Path, old: Path, new: Path) -> None:
    """Point announcements at their files in the restored data directory instead of the backed-up one."""
    db = sqlite_utils.Database(database)
    if "broadcasts" not in db.table_names() or old == new:
        return
    with db.conn:
        for row in db.execute("SELECT id, attachment FROM broadcasts WHERE attachment != ''").fetchall():
            path = Path(row[1])
            if path.is_relative_to(old):
                db.execute(
                    "UPDATE broadcasts SET attachment = ? WHERE id = ?", [str(new / path.relative_to(old)), row[0]]
                )
    db.close()
