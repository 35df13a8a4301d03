"""Announcements from phòng Nội vụ: a durable outbox in SQLite, audiences, reports, acknowledgements.

The broadcast and one row per recipient are written in one transaction before anything is sent. The sender
claims a row (attempt counted) before sending it and records what Telegram said afterwards: `sent`,
`blocked`, `failed` with the reason, or pending again with the time of the next attempt. A claim left by a
process that stopped is released when the sender starts again, so at most the sends in flight are repeated.
The outbox also carries notices (short messages to colleagues, without heading or acknowledgement).
No Telegram here: bot/broadcast.py delivers what this module queues.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlite_utils
from sqlite_utils.migrations import Migrations

from base.database import utc_now
from base.settings import Settings
from office.users import User, UserStore

Delivery = Literal["pending", "sent", "failed", "blocked"]
Kind = Literal["announcement", "notice"]
LONGEST_WAIT_SECONDS = 3600  # between two attempts at one row
migrations = Migrations("cchc.broadcasts")


@migrations()
def m001_outbox(db: sqlite_utils.Database) -> None:
    db.table("broadcasts").create(
        {
            "id": int,
            "created_at": str,
            "created_by": int,
            "text": str,
            "attachment": str,
            "attachment_kind": str,
            "ack": int,
            "audience": str,
            "parent": int,
        },
        pk="id",
    )
    db.table("deliveries").create(
        {
            "broadcast_id": int,
            "telegram_id": int,
            "chat_id": int,
            "unit_code": str,
            "status": str,
            "attempts": int,
            "message_id": int,
            "sent_at": str,
            "error": str,
            "acked_at": str,
        },
        pk=("broadcast_id", "telegram_id"),
        foreign_keys=[("broadcast_id", "broadcasts", "id")],
    )
    db.table("deliveries").create_index(["status"])


@migrations()
def m002_claims_and_file_ids(db: sqlite_utils.Database) -> None:
    """Rows are claimed before they are sent and retried at a set time; an uploaded attachment's file_id is
    kept for the other recipients; a broadcast is an announcement or a notice."""
    deliveries = db.table("deliveries")
    deliveries.add_column("claimed_at", str)
    deliveries.add_column("next_attempt_at", str, not_null_default="")
    deliveries.create_index(["status", "next_attempt_at"])
    broadcasts = db.table("broadcasts")
    broadcasts.add_column("attachment_file_id", str, not_null_default="")
    broadcasts.add_column("kind", str, not_null_default="announcement")


def stamp(moment: datetime) -> str:
    """A moment as the outbox stores it (UTC, ISO 8601, comparable as text)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Audience:
    """Who an announcement goes to: units (codes or groups) and positions; empty lists mean everyone."""

    units: list[str] = field(default_factory=list)
    positions: list[str] = field(default_factory=list)

    def describe(self, settings: Settings) -> str:
        names = [
            {"all": "tất cả", "tat-ca": "tất cả", "phong-ban": "tất cả phòng ban", "xa-phuong": "tất cả xã/phường"}.get(
                u
            )
            or settings.unit_name(u)
            for u in self.units
        ]
        text = ", ".join(names) or "tất cả"
        return text + (f"; chức vụ: {', '.join(self.positions)}" if self.positions else "")


@dataclass(frozen=True)
class Report:
    broadcast_id: int
    total: int
    delivered: int
    pending: int
    failed: int
    blocked: int
    acknowledged: int
    ack_asked: bool
    units_not_acknowledged: list[str]

    def as_dict(self) -> dict:
        return self.__dict__.copy()


class Outbox:
    """Broadcasts and their recipients' delivery state."""

    def __init__(self, db: sqlite_utils.Database, settings: Settings) -> None:
        migrations.apply(db)
        self.db = db
        self.settings = settings

    def recipients(self, users: UserStore, audience: Audience) -> list[User]:
        """Officials the bot can reach (approved, on Telegram, not blocked) in the audience."""
        codes: set[str] | None = None
        if audience.units:
            codes = {code for spec in audience.units for code in self.settings.unit_codes(spec) or []}
        wanted = {p.lower() for p in audience.positions}
        return [u for u in users.reachable(unit_codes=codes) if not wanted or u.position.lower() in wanted]

    def create(
        self,
        created_by: int,
        text: str,
        recipients: list[User],
        audience: Audience,
        ack: bool,
        attachment: str = "",
        attachment_kind: str = "",
        parent: int | None = None,
        kind: Kind = "announcement",
        attachment_file_id: str = "",
    ) -> int:
        """Write the broadcast and one pending row per recipient, together; returns its id."""
        with self.db.atomic():
            broadcast_id = int(
                self.db.table("broadcasts")
                .insert(
                    {
                        "created_at": utc_now(),
                        "created_by": created_by,
                        "text": text,
                        "attachment": attachment,
                        "attachment_kind": attachment_kind,
                        "ack": int(ack),
                        "parent": parent,
                        "kind": kind,
                        "attachment_file_id": attachment_file_id,
                        "audience": json.dumps(
                            {"units": audience.units, "positions": audience.positions}, ensure_ascii=False
                        ),
                    }
                )
                .last_pk
                or 0
            )
            self.db.table("deliveries").insert_all(
                {
                    "broadcast_id": broadcast_id,
                    "telegram_id": u.telegram_id,
                    "chat_id": u.chat,
                    "unit_code": u.unit_code,
                    "status": "pending",
                    "attempts": 0,
                }
                for u in recipients
            )
        return broadcast_id

    def broadcast(self, broadcast_id: int) -> dict | None:
        rows = list(self.db.table("broadcasts").rows_where("id = ?", [broadcast_id]))
        return rows[0] if rows else None

    def claim(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Take up to `limit` rows due now (oldest broadcast first) for sending: each is marked claimed and its
        attempt counted, in one statement, before anything is sent."""
        cursor = self.db.execute(
            "UPDATE deliveries SET claimed_at = ?, attempts = attempts + 1 WHERE rowid IN ("
            "SELECT rowid FROM deliveries WHERE status = 'pending' AND claimed_at IS NULL AND next_attempt_at <= ? "
            "ORDER BY broadcast_id, telegram_id LIMIT ?) RETURNING *",
            [stamp(now), stamp(now), limit],
        )
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        self.db.conn.commit()
        return sorted(rows, key=lambda r: (r["broadcast_id"], r["telegram_id"]))

    def release_claims(self) -> int:
        """Claims left by a sender that stopped without recording them: due again now. Returns how many."""
        cursor = self.db.execute(
            "UPDATE deliveries SET claimed_at = NULL WHERE status = 'pending' AND claimed_at IS NOT NULL"
        )
        self.db.conn.commit()
        return cursor.rowcount

    def mark(
        self,
        broadcast_id: int,
        telegram_id: int,
        status: Delivery,
        message_id: int | None = None,
        error: str = "",
        file_id: str = "",
    ) -> None:
        """Record what became of a claimed row (with the file_id of the attachment it uploaded, if any)."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE deliveries SET status = ?, message_id = ?, error = ?, sent_at = ?, claimed_at = NULL "
                "WHERE broadcast_id = ? AND telegram_id = ?",
                [status, message_id, error, utc_now() if status == "sent" else None, broadcast_id, telegram_id],
            )
            if file_id:
                self.db.execute(
                    "UPDATE broadcasts SET attachment_file_id = ? WHERE id = ? AND attachment_file_id = ''",
                    [file_id, broadcast_id],
                )

    def retry_or_fail(self, row: dict[str, Any], error: str, attempts: int, first_wait: float) -> Delivery:
        """A claimed row whose attempt did not get through: pending again after a wait that doubles with each
        attempt made, or `failed` with the reason once `attempts` were made."""
        if row["attempts"] >= attempts:
            self.mark(row["broadcast_id"], row["telegram_id"], "failed", error=error)
            return "failed"
        wait = min(first_wait * 2 ** (row["attempts"] - 1), LONGEST_WAIT_SECONDS)
        self.db.execute(
            "UPDATE deliveries SET claimed_at = NULL, next_attempt_at = ?, error = ? "
            "WHERE broadcast_id = ? AND telegram_id = ?",
            [stamp(datetime.now(UTC) + timedelta(seconds=wait)), error, row["broadcast_id"], row["telegram_id"]],
        )
        self.db.conn.commit()
        return "pending"

    def nudge(self, parent: int, created_by: int, text: str, recipients: list[User], gap: timedelta) -> int | None:
        """Queue the reminder of an announcement to those who have not acknowledged it; None (nothing queued)
        when the last reminder of it was queued less than `gap` ago, so a button pressed twice sends once."""
        with self.db.atomic():
            last = self.last_nudge(parent)
            if last is not None and last > datetime.now(UTC) - gap:
                return None
            original = self.broadcast(parent)
            if original is None:
                return None
            return self.create(
                created_by,
                text,
                recipients,
                Audience(),
                True,
                original["attachment"],
                original["attachment_kind"],
                parent=parent,
                attachment_file_id=original["attachment_file_id"],
            )

    def last_nudge(self, parent: int) -> datetime | None:
        """When the last reminder of an announcement was queued."""
        last = self.db.execute("SELECT MAX(created_at) FROM broadcasts WHERE parent = ?", [parent]).fetchone()[0]
        return datetime.fromisoformat(last) if last else None

    def acknowledge(self, broadcast_id: int, telegram_id: int) -> bool:
        """Record "Đã nhận"; False if this recipient had already acknowledged (counted once)."""
        cursor = self.db.execute(
            "UPDATE deliveries SET acked_at = ? WHERE broadcast_id = ? AND telegram_id = ? AND acked_at IS NULL "
            "AND status = 'sent'",
            [utc_now(), broadcast_id, telegram_id],
        )
        self.db.conn.commit()
        return cursor.rowcount == 1

    def report(self, broadcast_id: int) -> Report | None:
        broadcast = self.broadcast(broadcast_id)
        if broadcast is None:
            return None
        rows = list(self.db.table("deliveries").rows_where("broadcast_id = ?", [broadcast_id]))
        count = {s: sum(r["status"] == s for r in rows) for s in ("sent", "pending", "failed", "blocked")}
        acked_units = {r["unit_code"] for r in rows if r["acked_at"]}
        sent_units = sorted({r["unit_code"] for r in rows if r["status"] == "sent"})
        return Report(
            broadcast_id=broadcast_id,
            total=len(rows),
            delivered=count["sent"],
            pending=count["pending"],
            failed=count["failed"],
            blocked=count["blocked"],
            acknowledged=sum(bool(r["acked_at"]) for r in rows),
            ack_asked=bool(broadcast["ack"]),
            units_not_acknowledged=[u for u in sent_units if u not in acked_units] if broadcast["ack"] else [],
        )

    def unacknowledged(self, broadcast_id: int) -> list[int]:
        """Telegram ids that received an announcement asking for acknowledgement and did not give it."""
        sql = "SELECT telegram_id FROM deliveries WHERE broadcast_id = ? AND status = 'sent' AND acked_at IS NULL"
        return [row[0] for row in self.db.execute(sql, [broadcast_id])]
