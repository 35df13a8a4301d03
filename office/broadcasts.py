"""Announcements from phòng Nội vụ: a durable outbox in SQLite, audiences, reports, acknowledgements.

The broadcast and one row per recipient are written in one transaction before anything is sent; a row
becomes `sent` only after Telegram accepted the message. A restart resumes from the rows still pending.
No Telegram here: bot/broadcast.py delivers what this module queues.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

import sqlite_utils
from sqlite_utils.migrations import Migrations

from base.database import utc_now
from base.settings import Settings
from office.users import User, UserStore

Delivery = Literal["pending", "sent", "failed", "blocked"]
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

    def pending(self, limit: int = 500) -> list[dict]:
        """Rows still to send, oldest broadcast first."""
        return list(
            self.db.table("deliveries").rows_where(
                "status = 'pending'", order_by="broadcast_id, telegram_id", limit=limit
            )
        )

    def mark(
        self, broadcast_id: int, telegram_id: int, status: Delivery, message_id: int | None = None, error: str = ""
    ) -> None:
        self.db.execute(
            "UPDATE deliveries SET status = ?, message_id = ?, error = ?, sent_at = ?, attempts = attempts + 1 "
            "WHERE broadcast_id = ? AND telegram_id = ?",
            [status, message_id, error, utc_now() if status == "sent" else None, broadcast_id, telegram_id],
        )
        self.db.conn.commit()

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
