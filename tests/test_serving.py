"""A serving bot picks up an ingest made by another process: no restart, no question waiting on the load."""

from __future__ import annotations

import asyncio
import shutil
import sys
import threading
from pathlib import Path

from base.database import open_database
from base.serving import ServingLock, someone_serving
from base.settings import RateLimitSettings
from devtools.bot_harness import approve, running_bot, until
from devtools.botapi import BotApiStandIn, message_update
from ingest.pipeline import Ingester
from knowledge.index import ClauseIndex
from knowledge.vectors import VectorStore
from office.users import UserStore
from tests.conftest import DATA, SAMPLE_DIRECTIVE, make_settings

OFFICIAL = 2002
QUESTION = "Phòng Tư pháp phải rà soát xong văn bản quy phạm pháp luật trước ngày nào?"
PLAN_DEADLINE = "30 tháng 6 năm 2099"  # only the plan says it


async def cchc(*args: str) -> tuple[int, str]:
    """Run the `cchc` command in a process of its own; returns its exit code and everything it printed."""
    command = Path(sys.executable).with_name("cchc")
    process = await asyncio.create_subprocess_exec(
        str(command), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode("utf-8")


async def reply(stand_in: BotApiStandIn, question: str) -> str:
    """Ask as the official and return the text of the answer the bot sends."""
    before = len(stand_in.sent)
    stand_in.push_update(message_update(OFFICIAL, question))
    found = await stand_in.wait_for(
        lambda s: s in stand_in.sent[before:] and s.chat_id == OFFICIAL and s.method == "sendMessage"
    )
    return found[0].text


async def test_a_serving_bot_answers_from_a_document_another_process_ingested(
    tmp_path: Path, e5, stand_in, monkeypatch
) -> None:
    quota = RateLimitSettings(questions=100, per_seconds=60)
    settings = make_settings(tmp_path / "data", telegram={"rate_limit": quota})
    directive = tmp_path / "directive"
    directive.mkdir()
    shutil.copy(SAMPLE_DIRECTIVE, directive)
    index = ClauseIndex(settings, embeddings=e5)
    assert Ingester(index, show_progress=False).run([directive]).ok
    users = UserStore(open_database(tmp_path / "users.db"))
    approve(users, OFFICIAL, unit="TP")

    # The vectors a new view reopens are held back until the test lets them go: the load is in progress.
    released, reached = threading.Event(), threading.Event()
    reopen = VectorStore.reopened

    def held_reopen(self: VectorStore) -> VectorStore:
        reached.set()
        released.wait(60)
        return reopen(self)

    monkeypatch.setattr(VectorStore, "reopened", held_reopen)
    plan = tmp_path / "plan"
    plan.mkdir()
    shutil.copy(DATA / "ke-hoach-mau.txt", plan)

    async with running_bot(settings, stand_in, index, users) as application:
        assert PLAN_DEADLINE not in await reply(stand_in, QUESTION)
        assert someone_serving(settings.data_dir)

        code, output = await cchc("--data-dir", str(settings.data_dir), "ingest", "--quiet", str(plan))
        assert code == 0, output
        assert "added: ke-hoach-mau" in output
        assert "A bot or search server is answering from this data directory" in output

        await until(reached.is_set, timeout=30)  # the bot noticed the ingest and is loading it
        assert PLAN_DEADLINE not in await reply(stand_in, QUESTION)  # answered meanwhile, from what it had
        assert not released.is_set()

        released.set()
        answers = [await reply(stand_in, QUESTION)]
        while PLAN_DEADLINE not in answers[-1] and len(answers) < 10:  # the swap follows within seconds
            await asyncio.sleep(1)
            answers.append(await reply(stand_in, QUESTION))
        assert PLAN_DEADLINE in answers[-1] and "Kế hoạch" in answers[-1], answers[-1]
    await application.post_shutdown(application)  # type: ignore[misc]  # run_polling's last step
    assert not someone_serving(settings.data_dir)


def test_imports_step_back_while_a_bot_answers(tmp_path: Path) -> None:
    """A staff or task import run beside a serving bot runs at low priority and says so; alone it does not."""
    data_dir = tmp_path / "data"
    staff = tmp_path / "staff.csv"
    staff.write_text("ho_ten,don_vi,chuc_vu,so_dien_thoai,telegram_id\nTrần B,TP,Công chức,,555\n", encoding="utf-8")
    tasks = tmp_path / "tasks.csv"
    tasks.write_text("ma,ten,noi_dung,can_cu,don_vi,han,lap_lai,nhac_truoc\n", encoding="utf-8")
    alone = asyncio.run(cchc("--data-dir", str(data_dir), "users", "import", str(staff)))
    assert alone == (0, "imported: 1 added, 0 updated, kept locked: 0\n")
    lock = ServingLock(data_dir)
    lock.acquire()
    try:
        for command in (["users", "import", str(staff)], ["tasks", "import", str(tasks)]):
            code, output = asyncio.run(cchc("--data-dir", str(data_dir), *command))
            assert code == 0, output
            assert "A bot or search server is answering from this data directory: importing at low priority." in output
            assert "imported:" in output
    finally:
        lock.release()
