"""The announcement outbox on its own: audiences, the durable rows, acknowledgements and the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from base.database import open_database
from office.broadcasts import Audience, Outbox
from office.users import UserStore
from tests.conftest import make_settings


@pytest.fixture
def stores(tmp_path: Path) -> tuple[Outbox, UserStore]:
    settings = make_settings(tmp_path / "data")
    db = open_database(settings.database_path)
    users = UserStore(db)
    for telegram_id, unit, position in (
        (11, "TP", "Thủ trưởng"),
        (12, "TP", "Công chức"),
        (21, "XAP", "Chủ tịch UBND"),
    ):
        users.register(telegram_id, telegram_id, f"Cán bộ {telegram_id}", unit, position, approved=True)
    users.register(13, 13, "Chờ duyệt", "TP", "Công chức", approved=False)
    return Outbox(db, settings), users


def ids(users: list) -> list[int]:
    return [u.telegram_id for u in users]


def test_audiences_by_group_unit_and_position(stores) -> None:
    box, users = stores
    assert ids(box.recipients(users, Audience())) == [11, 12, 21]  # nobody pending
    assert ids(box.recipients(users, Audience(units=["xa-phuong"]))) == [21]
    assert ids(box.recipients(users, Audience(units=["TP"], positions=["thủ trưởng"]))) == [11]
    assert ids(box.recipients(users, Audience(units=["all"], positions=["Chủ tịch UBND"]))) == [21]
    assert Audience(units=["phong-ban", "XAP"]).describe(box.settings) == "tất cả phòng ban, UBND xã An Phú"


def test_rows_are_written_with_the_broadcast_and_acknowledged_once(stores) -> None:
    box, users = stores
    broadcast_id = box.create(1, "Họp giao ban", box.recipients(users, Audience()), Audience(), ack=True)
    assert [r["telegram_id"] for r in box.pending()] == [11, 12, 21]
    box.mark(broadcast_id, 11, "sent", message_id=5)
    box.mark(broadcast_id, 12, "blocked", error="Forbidden: bot was blocked by the user")
    assert box.acknowledge(broadcast_id, 11) and not box.acknowledge(broadcast_id, 11)
    assert not box.acknowledge(broadcast_id, 12)  # never received it
    report = box.report(broadcast_id)
    assert report is not None
    assert (report.total, report.delivered, report.pending, report.blocked, report.acknowledged) == (3, 1, 1, 1, 1)
    assert report.units_not_acknowledged == []
    assert box.unacknowledged(broadcast_id) == []
    assert box.report(broadcast_id + 1) is None
