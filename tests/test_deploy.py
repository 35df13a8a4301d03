"""Running as a service: the systemd unit and environment file in deploy/, and no token in files or logs."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from devtools.bot_harness import TOKEN, running_bot
from devtools.botapi import message_update
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
TOKEN_SHAPE = re.compile(r"\b\d{8,10}:[A-Za-z0-9_-]{35}\b")  # what @BotFather hands out


def unit_entries(path: Path) -> dict[str, list[str]]:
    """`Section.Key` -> its values, in order (systemd allows a key several times)."""
    entries: dict[str, list[str]] = {}
    section = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            entries.setdefault(f"{section}.{key}", []).append(value)
    return entries


def test_the_unit_restarts_on_failure_reads_the_token_from_the_environment_file_and_logs_to_the_journal() -> None:
    unit = unit_entries(DEPLOY / "cchc.service")
    assert unit["Service.ExecStart"] == ["/opt/tro-ly-cchc/.venv/bin/cchc serve"]
    assert unit["Service.Restart"] == ["on-failure"]
    assert unit["Service.EnvironmentFile"] == ["/etc/cchc/cchc.env"]
    assert unit["Service.StandardOutput"] == unit["Service.StandardError"] == ["journal"]
    assert "CCHC_DATA_DIR=/var/lib/cchc" in unit["Service.Environment"] and unit["Service.StateDirectory"] == ["cchc"]
    assert not any("TELEGRAM_BOT_TOKEN" in value for value in unit["Service.Environment"])
    backup = unit_entries(DEPLOY / "cchc-backup.service")
    assert int(unit["Service.CPUWeight"][0]) > 100 > int(backup["Service.CPUWeight"][0])  # questions go first
    environment = unit_entries(DEPLOY / "cchc.env.example")
    assert environment[".TELEGRAM_BOT_TOKEN"] == [""]  # a template: the real value goes in /etc/cchc/cchc.env
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "deploy/cchc.service" in readme and "deploy/cchc.env.example" in readme and "journalctl -u cchc" in readme


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    units = ("cchc.service", "cchc-backup.service", "cchc-search.service")
    for name in (*units, "cchc-backup.timer"):
        text = (DEPLOY / name).read_text(encoding="utf-8").replace("/opt/tro-ly-cchc/.venv/bin/cchc", "/bin/true")
        (tmp_path / name).write_text(text, encoding="utf-8")
    checked = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / n) for n in units)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Unknown key" not in checked.stderr and "Unknown section" not in checked.stderr, checked.stderr


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout")
def test_no_token_under_version_control() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in tracked.splitlines():
        path = ROOT / name
        if path.is_file() and path.stat().st_size < 2_000_000:
            assert not TOKEN_SHAPE.search(path.read_text(encoding="utf-8", errors="ignore")), f"{name} holds a token"
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/cchc.env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0  # a filled-in environment file beside the template is never committed


async def test_the_token_never_reaches_the_logs(sample_index, stand_in, tmp_path: Path, caplog) -> None:
    from base.database import open_database
    from office.users import UserStore

    settings = sample_index.settings.model_copy(deep=True)
    caplog.set_level(logging.INFO)
    async with running_bot(settings, stand_in, sample_index, UserStore(open_database(tmp_path / "u.db"))):
        stand_in.push_update(message_update(4242, "/huongdan"))
        await stand_in.wait_for(lambda s: s.chat_id == 4242)
    assert caplog.records and TOKEN not in caplog.text
