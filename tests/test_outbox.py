"""The announcement outbox on its own: audiences, the durable rows, acknowledgements and the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    assert [r["telegram_id"] for r in box.claim(datetime.now(UTC), 10)] == [11, 12, 21]
    assert box.claim(datetime.now(UTC), 10) == []  # claimed: not handed out twice
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


def test_a_row_that_does_not_get_through_waits_longer_each_time_then_fails(stores) -> None:
    box, users = stores
    now = datetime.now(UTC)
    broadcast_id = box.create(1, "Họp", box.recipients(users, Audience(units=["XAP"])), Audience(), ack=False)
    waits = []
    for attempt in (1, 2, 3):
        [row] = box.claim(now + timedelta(seconds=sum(waits) + 1), 10)
        assert row["attempts"] == attempt
        state = box.retry_or_fail(row, f"500 lần {attempt}", attempts=3, first_wait=60)
        assert state == ("failed" if attempt == 3 else "pending")
        due = next(iter(box.db["deliveries"].rows))["next_attempt_at"]
        if state == "pending":
            waits.append((datetime.fromisoformat(due) - now).total_seconds())
            assert box.claim(now + timedelta(seconds=1), 10) == []  # not due yet
    assert [round(w, -1) for w in waits] == [60, 120]  # doubled
    report = box.report(broadcast_id)
    assert report is not None and (report.failed, report.pending) == (1, 0)
    assert next(iter(box.db["deliveries"].rows))["error"] == "500 lần 3"


def test_claims_left_by_a_stopped_sender_are_released(stores) -> None:
    box, users = stores
    box.create(1, "Họp", box.recipients(users, Audience()), Audience(), ack=False)
    assert len(box.claim(datetime.now(UTC), 2)) == 2
    assert box.release_claims() == 2
    assert [(r["telegram_id"], r["attempts"]) for r in box.claim(datetime.now(UTC), 10)] == [(11, 2), (12, 2), (21, 1)]


def test_a_second_reminder_within_the_gap_is_not_queued(stores) -> None:
    box, users = stores
    everyone = box.recipients(users, Audience())
    parent = box.create(1, "Họp", everyone, Audience(), ack=True, attachment_file_id="doc-7")
    first = box.nudge(parent, 1, "Nhắc lại", everyone, gap=timedelta(hours=1))
    assert first is not None and box.nudge(parent, 1, "Nhắc lại", everyone, gap=timedelta(hours=1)) is None
    assert (box.broadcast(first) or {})["attachment_file_id"] == "doc-7"  # the reminder reuses the upload
    assert box.nudge(parent, 1, "Nhắc lại", everyone, gap=timedelta(0)) == first + 1
