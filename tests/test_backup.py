"""`cchc backup` while the bot sends an announcement, `cchc restore` elsewhere: everything is there."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from click.testing import CliRunner

from base.database import open_database
from base.serving import ServingLock
from cchc.cli import cli
from devtools.bot_harness import add_officials, running_bot
from devtools.botapi import BotApiStandIn, callback_update
from ingest.pipeline import Ingester
from knowledge.index import ClauseIndex
from office.broadcasts import Audience, Outbox
from office.tasks import TaskStore, read_task_file
from office.users import UserStore
from tests.conftest import ROOT, SAMPLE_CORPUS, make_settings

ADMIN = 1001
CCHC = str(Path(sys.executable).parent / "cchc")
RECIPIENTS = 150


def deliveries(outbox: Outbox, broadcast_id: int) -> dict[int, dict]:
    rows = outbox.db.table("deliveries").rows_where("broadcast_id = ?", [broadcast_id])
    return {row["telegram_id"]: row for row in rows}


def unacknowledged(row: dict) -> dict:
    """A delivery row without its acknowledgement (which may come after the backup)."""
    return {key: value for key, value in row.items() if key != "acked_at"}


async def acknowledge_delivered(stand_in: BotApiStandIn, broadcast_id: int, pressed: set[int]) -> None:
    """Recipients press "Đã nhận" on every announcement delivered to them so far."""
    for sent in list(stand_in.sent):
        if sent.method == "sendMessage" and sent.chat_id not in pressed and "Thông báo" in sent.text:
            pressed.add(sent.chat_id)
            stand_in.push_update(callback_update(sent.chat_id, f"ack:{broadcast_id}", sent))


async def test_backup_during_a_broadcast_restores_everything(tmp_path: Path, e5, stand_in) -> None:
    settings = make_settings(tmp_path / "data", telegram={"admins": [ADMIN], "messages_per_second": 10})
    index = ClauseIndex(settings, embeddings=e5)
    assert Ingester(index, show_progress=False).run([SAMPLE_CORPUS]).ok
    db = open_database(settings.database_path)
    users, tasks, outbox = UserStore(db), TaskStore(db, settings), Outbox(db, settings)
    task_file = ROOT / "samples" / "tasks" / "chi-thi-cchc-thi-xa.yaml"
    tasks.import_rows(read_task_file(task_file.read_text(encoding="utf-8"), ".yaml"), lambda c: True)
    add_officials(users, RECIPIENTS, [u.code for u in settings.units])
    attachment = settings.data_dir / "attachments" / "cli-1" / "ke-hoach.pdf"
    attachment.parent.mkdir(parents=True)
    attachment.write_bytes(b"%PDF-1.4 ke hoach")
    earlier = outbox.create(ADMIN, "Kế hoạch", [], Audience(), False, str(attachment), "document")
    broadcast_id = outbox.create(ADMIN, "Họp giao ban thứ Sáu", outbox.recipients(users, Audience()), Audience(), True)
    backup = tmp_path / "backup"

    pressed: set[int] = set()
    async with running_bot(settings, stand_in, index, users, tasks=tasks, outbox=outbox):
        while sum(r["acked_at"] is not None for r in deliveries(outbox, broadcast_id).values()) < 5:
            await acknowledge_delivered(stand_in, broadcast_id, pressed)
            await asyncio.sleep(0.1)
        acked_before = {t for t, r in deliveries(outbox, broadcast_id).items() if r["acked_at"]}
        process = await asyncio.create_subprocess_exec(
            CCHC, "--data-dir", str(settings.data_dir), "backup", str(backup), stdout=asyncio.subprocess.PIPE
        )
        finished = asyncio.ensure_future(process.communicate())
        while not finished.done():  # the bot keeps sending and recording acknowledgements meanwhile
            await acknowledge_delivered(stand_in, broadcast_id, pressed)
            await asyncio.sleep(0.1)
        output = finished.result()[0].decode()
        assert process.returncode == 0, output
        assert f"{RECIPIENTS} users" in output and f"{RECIPIENTS} deliveries" in output
    final = deliveries(outbox, broadcast_id)

    restored_dir = tmp_path / "elsewhere" / "data"
    result = CliRunner().invoke(cli, ["--data-dir", str(restored_dir), "restore", str(backup)])
    assert result.exit_code == 0, result.output
    restored_db = open_database(restored_dir / "cchc.db")
    assert restored_db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    restored = ClauseIndex(make_settings(restored_dir), embeddings=e5)

    assert restored.store.document_rows() == index.store.document_rows()
    assert restored.vector_count() == len(restored.store.passage_ids()) > 0
    hit = restored.search("Hạn chót gửi báo cáo kiểm điểm là ngày nào?", k=1)[0]
    assert hit.clause.clause_id == "chi-thi-cchc-thi-xa:3"
    assert [u.model_dump() for u in UserStore(restored_db).find()] == [u.model_dump() for u in users.find()]
    assert [t.code for t in TaskStore(restored_db, settings).tasks()] == [t.code for t in tasks.tasks()]

    rows = deliveries(Outbox(restored_db, settings), broadcast_id)
    assert rows.keys() == final.keys() and len(rows) == RECIPIENTS  # every delivery
    sent = {t for t, r in rows.items() if r["status"] == "sent"}
    assert 0 < len(sent) < RECIPIENTS  # taken in the middle of the broadcast
    settled = [t for t, r in rows.items() if r["status"] != "pending"]  # each as it was at one moment:
    assert all(unacknowledged(rows[t]) == unacknowledged(final[t]) for t in settled)  # sent, and recorded so
    moved = Path(Outbox(restored_db, settings).broadcast(earlier)["attachment"])  # type: ignore[index]
    assert moved == restored_dir.resolve() / "attachments" / "cli-1" / "ke-hoach.pdf"
    assert moved.read_bytes() == b"%PDF-1.4 ke hoach"
    acked = {t for t, r in rows.items() if r["acked_at"]}
    assert acked_before <= acked <= {t for t, r in final.items() if r["acked_at"]}  # every acknowledgement

    again = CliRunner().invoke(cli, ["--data-dir", str(restored_dir), "restore", str(backup)])
    assert again.exit_code == 1 and "is not empty" in again.output and "--force" in again.output
    forced = CliRunner().invoke(cli, ["--data-dir", str(restored_dir), "restore", "--force", str(backup)])
    assert forced.exit_code == 0 and "moved aside:" in forced.output
    assert len(list((tmp_path / "elsewhere").glob("data.before-restore-*"))) == 1


def test_backup_refuses_a_used_folder_and_restore_refuses_a_non_backup(tmp_path: Path) -> None:
    data = tmp_path / "data"
    open_database(data / "cchc.db").close()
    used = tmp_path / "used"
    used.mkdir()
    (used / "old.txt").write_text("x")
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "backup", str(used)])
    assert result.exit_code == 1 and "is not empty: back up into a new folder" in result.output
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "new"), "restore", str(used)])
    assert result.exit_code == 1 and "is not a backup made by `cchc backup`" in result.output
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "none"), "backup", str(tmp_path / "b")])
    assert result.exit_code == 1 and "no database, nothing to back up" in result.output


def test_restore_refuses_a_data_directory_someone_answers_from(tmp_path: Path) -> None:
    data = tmp_path / "data"
    open_database(data / "cchc.db").close()
    assert CliRunner().invoke(cli, ["--data-dir", str(data), "backup", str(tmp_path / "b")]).exit_code == 0
    serving = ServingLock(data)  # as `cchc serve` or `cchc search-server` hold it
    serving.acquire()
    try:
        result = CliRunner().invoke(cli, ["--data-dir", str(data), "restore", "--force", str(tmp_path / "b")])
    finally:
        serving.release()
    assert result.exit_code == 1 and "a bot or search server is answering from" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "data"]  # nothing moved aside
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "restore", "--force", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
