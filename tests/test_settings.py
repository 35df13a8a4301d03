"""config.yaml: one clear line per mistake, unit lookups and groups."""

from __future__ import annotations

from pathlib import Path

import pytest

from base.settings import ConfigError, load
from tests.conftest import ROOT, make_settings


def test_units_by_name_code_and_group(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    assert settings.unit("tp") == settings.unit("Phòng  Tư pháp") == settings.unit("TP")
    assert settings.unit_name("XAP") == "UBND xã An Phú" and settings.unit_name("GONE") == "GONE"
    assert settings.unit_codes("xa-phuong") == ["P1", "P2", "XAP", "XBH"]
    assert settings.unit_codes("tat-ca") == settings.unit_codes("all") == [u.code for u in settings.units]
    assert settings.unit_codes("Phòng Tư pháp") == ["TP"] and settings.unit_codes("nowhere") is None
    assert settings.telegram.is_admin(1) is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("units:\n  - {code: A, name: Một, kind: phong-ban}\n  - {code: a, name: Hai, kind: phong-ban}\n", "code 'a'"),
        ("reminders:\n  timezone: Mars/Olympus\n", "not a known time zone"),
        ("reminders:\n  send_at: '21:00'\n", "send_at must come before last_hour"),
        ("embeddings:\n  provider: sentence-transformers\n", "needs embeddings.model"),
    ],
)
def test_values_that_contradict_each_other_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load(path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_data_dir_is_relative_to_the_config_unless_given(tmp_path: Path) -> None:
    assert load(ROOT / "config.yaml").data_dir == ROOT / "data"
    assert load(ROOT / "config.yaml", tmp_path).data_dir == tmp_path
