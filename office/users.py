"""Officials, registrations, audit entries and answer feedback, in the project's SQLite database.

No Telegram here: the bot calls these functions, and so do the CLI and the tests.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import sqlite_utils
from pydantic import Field, ValidationInfo, field_validator
from sqlite_utils.migrations import Migrations

from base.database import utc_now
from base.records import Record
from base.settings import Settings, Unit
from knowledge.records import Citation
from knowledge.vietnamese import fold, normalize
from office.rows import BadRows, FileRow, by_row, check_rows, repeated, settings_in

Status = Literal["pending", "approved", "rejected", "inactive"]
STANDING: set[Status] = {"inactive", "rejected"}
"""Decisions that only an explicit unlock (/mokhoa, `cchc users unlock`) undoes: no import or phone link does."""
OPERATOR = 0
"""The actor recorded for the operator's command line (Telegram ids are positive)."""
CSV_HEADER = ["ho_ten", "don_vi", "chuc_vu", "so_dien_thoai", "telegram_id"]
migrations = Migrations("cchc.users")


@migrations()
def m001_users_audit_feedback(db: sqlite_utils.Database) -> None:
    db.table("users").create(
        {
            "id": int,
            "telegram_id": int,
            "chat_id": int,
            "full_name": str,
            "unit_code": str,
            "position": str,
            "phone": str,
            "status": str,
            "source": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
    )
    db.table("users").create_index(["telegram_id"], unique=True)
    db.table("users").create_index(["phone"])
    db.table("audit").create({"id": int, "at": str, "actor": int, "action": str, "target": str, "detail": str}, pk="id")
    db.table("answers").create(
        {"id": int, "at": str, "telegram_id": int, "question": str, "answered": int, "citations": str}, pk="id"
    )
    db.table("feedback").create(
        {"answer_id": int, "telegram_id": int, "vote": int, "at": str},
        pk=("answer_id", "telegram_id"),
        foreign_keys=[("answer_id", "answers", "id")],
    )


@migrations()
def m002_blocked_flag(db: sqlite_utils.Database) -> None:
    """Telegram said 403 (the official blocked the bot): nothing more is sent until they write again."""
    db.table("users").add_column("blocked", int, not_null_default=0)


@migrations()
def m003_admin_menus(db: sqlite_utils.Database) -> None:
    """Who was shown the admin command menu, so it can be taken back when they are no longer an admin."""
    db.table("admin_menus").create({"telegram_id": int, "at": str}, pk="telegram_id")


class User(Record):
    """An official known to the assistant (registered through Telegram or imported from a staff list)."""

    id: int
    telegram_id: int | None = None
    chat_id: int | None = None
    full_name: str
    unit_code: str
    position: str
    phone: str = ""
    status: Status
    source: str = Field("telegram", description="telegram (registered at /start) or csv (imported).")
    blocked: bool = Field(False, description="The official blocked the bot; cleared when they write again.")

    @property
    def chat(self) -> int:
        """Where the bot writes to the official: the chat recorded, else their private chat (the user's id)."""
        chat = self.chat_id or self.telegram_id
        if chat is None:
            raise ValueError(f"user #{self.id} is not linked to Telegram")
        return chat


@dataclass(frozen=True)
class Decision:
    """Who set a user's status and when: a Telegram admin (actor, their name) or the operator's CLI."""

    actor: int
    by: str
    at: str

    @property
    def by_operator(self) -> bool:
        return self.actor == OPERATOR


@dataclass(frozen=True)
class Change:
    """What a status or unit command did: the user afterwards, and whether anything changed.

    When nothing changed, `standing` is the decision that stands (None if nobody recorded made one).
    """

    user: User
    changed: bool
    standing: Decision | None = None


@dataclass(frozen=True)
class ImportResult:
    """What a staff-list import did; rows of locked or rejected officials kept their status."""

    added: int
    updated: int
    kept_locked: int


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """A text cell a spreadsheet shows as text: one starting like a formula (=, +, -, @, tab, CR) gets a
    leading apostrophe, so Excel or LibreOffice never runs what an official typed (CSV injection)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def normalize_phone(raw: str) -> str:
    """'+84 912 345 678' -> '0912345678'; '' stays ''."""
    digits = re.sub(r"\D", "", raw or "")
    if digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:]
    return digits


def typed_words(text: str) -> tuple[str, ...]:
    """What an official typed, as folded words: 'Ủy ban nhân dân xã An Phú' -> ('ubnd', 'xa', 'an', 'phu')."""
    folded = " " + " ".join(re.findall(r"\w+", fold(normalize(text)))) + " "
    return tuple(folded.replace(" uy ban nhan dan ", " ubnd ").split())


def pick_typed(text: str, choices: dict[str, list[str]]) -> str | None:
    """The one choice an official's typed text names, else None.

    `choices` maps a key to the names it goes by. The text names a key when it is one of its names, else
    when it begins one of them, else when it stands whole-word inside one; at the first of these levels
    where anything fits, exactly one key must fit. Accents, case, punctuation and 'UBND' / 'Ủy ban nhân
    dân' do not matter.
    """
    typed = typed_words(text)
    if not typed:
        return None
    named = {key: [typed_words(name) for name in names] for key, names in choices.items()}

    def inside(words: tuple[str, ...]) -> bool:
        return any(words[i : i + len(typed)] == typed for i in range(len(words) - len(typed) + 1))

    for fits in (typed.__eq__, lambda w: w[: len(typed)] == typed, inside):
        keys = [key for key, forms in named.items() if any(fits(words) for words in forms)]
        if keys:
            return keys[0] if len(keys) == 1 else None
    return None


def typed_unit(settings: Settings, text: str) -> Unit | None:
    """The unit an official typed: its code or name, with or without accents, or enough of its name to
    single it out ('xã An Phú' for 'UBND xã An Phú', 'tu phap' for 'Phòng Tư pháp')."""
    code = pick_typed(text, {u.code: [u.code, u.name] for u in settings.units})
    return settings.unit(code) if code else None


def typed_position(settings: Settings, text: str) -> str | None:
    """The position an official typed ('cong chuc', 'Phó chủ tịch'), as config.yaml lists it."""
    return pick_typed(text, {p: [p] for p in settings.positions})


class UserStore:
    """Users, audit log and feedback on one sqlite_utils.Database."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        migrations.apply(db)
        self.db = db

    # ------------------------------------------------------------------------------------ reading

    def _one(self, where: str, args: list) -> User | None:
        rows = list(self.db.table("users").rows_where(where, args, limit=1))
        return User(**{k: v for k, v in rows[0].items() if k in User.model_fields}) if rows else None

    def by_telegram(self, telegram_id: int) -> User | None:
        return self._one("telegram_id = ?", [telegram_id])

    def by_id(self, user_id: int) -> User | None:
        return self._one("id = ?", [user_id])

    def find(self, status: Status | None = None, unit_codes: Iterable[str] | None = None) -> list[User]:
        """Users by unit and full name, optionally only those with this status or in these units."""
        where: list[str] = []
        args: list[str] = []
        if status:
            where.append("status = ?")
            args.append(status)
        if unit_codes is not None:
            codes = list(unit_codes)
            where.append(f"unit_code IN ({', '.join('?' for _ in codes)})")
            args.extend(codes)
        rows = self.db.table("users").rows_where(" AND ".join(where) or None, args, order_by="unit_code, full_name")
        return [User(**{k: v for k, v in row.items() if k in User.model_fields}) for row in rows]

    def resolve(self, id_or_phone: str) -> list[User]:
        """The users a reference names: '#12' or '12' is an id, anything starting with 0 or + a phone number."""
        reference = id_or_phone.strip().removeprefix("#")
        if reference.isdigit() and not reference.startswith("0") and len(reference) <= 8:
            found = self.by_id(int(reference))
            return [found] if found else []
        number = normalize_phone(reference)
        if not number:
            return []
        rows = self.db.table("users").rows_where("phone = ?", [number], order_by="id")
        return [User(**{k: v for k, v in row.items() if k in User.model_fields}) for row in rows]

    def last_decision(self, user_id: int) -> Decision | None:
        """Who last set this user's status and when, from the audit log; None if nobody did."""
        sql = "SELECT actor, detail, at FROM audit WHERE target = ? AND action LIKE 'status:%' ORDER BY id DESC LIMIT 1"
        row = self.db.execute(sql, [str(user_id)]).fetchone()
        return Decision(actor=row[0], by=row[1] or f"Telegram {row[0]}", at=row[2]) if row else None

    def reachable(self, unit_codes: Iterable[str] | None = None) -> list[User]:
        """Approved officials the bot can write to: linked to Telegram and not having blocked it."""
        return [u for u in self.find(status="approved", unit_codes=unit_codes) if u.telegram_id and not u.blocked]

    # ------------------------------------------------------------------------------------ writing

    def register(
        self, telegram_id: int, chat_id: int, full_name: str, unit_code: str, position: str, approved: bool
    ) -> User:
        """Record a registration from /start: approved at once, or pending an admin's decision."""
        existing = self.by_telegram(telegram_id)
        status: Status = "approved" if approved else "pending"
        if existing and existing.status in STANDING:
            status = existing.status
        row = {
            "telegram_id": telegram_id,
            "chat_id": chat_id,
            "full_name": full_name.strip(),
            "unit_code": unit_code,
            "position": position,
            "status": status,
            "source": "telegram",
            "updated_at": utc_now(),
        }
        with self.db.atomic():
            if existing:
                self.db.table("users").update(existing.id, row)
            else:
                self.db.table("users").insert({**row, "phone": "", "created_at": utc_now()})
        self.audit(telegram_id, "register", str(telegram_id), f"{full_name} / {unit_code} / {position} / {status}")
        registered = self.by_telegram(telegram_id)
        assert registered is not None, "the registration was just written"
        return registered

    def link_by_phone(self, telegram_id: int, chat_id: int, phone: str) -> User | None:
        """Match a shared phone number to an imported staff row; the official is approved at once, unless
        the row is locked or rejected: it is linked and keeps that status."""
        number = normalize_phone(phone)
        if not number:
            return None
        match = self._one("phone = ? AND (telegram_id IS NULL OR telegram_id = ?)", [number, telegram_id])
        if match is None:
            return None
        stale = self.by_telegram(telegram_id)
        if stale and stale.id != match.id and stale.status in STANDING:
            return stale  # a locked or rejected official cannot escape through another staff row
        with self.db.atomic():
            if stale and stale.id != match.id:  # a half-finished registration of the same person
                self.db.table("users").delete(stale.id)
            status = match.status if match.status in STANDING else "approved"
            self.db.table("users").update(
                match.id,
                {"telegram_id": telegram_id, "chat_id": chat_id, "status": status, "updated_at": utc_now()},
            )
        self.audit(telegram_id, "link-phone", str(match.id), number)
        return self.by_id(match.id)

    def decide(self, user_id: int, approve: bool, actor: int, by: str) -> Change | None:
        """Approve or reject a pending registration; a request already decided stays as it was."""
        return self._change_status(user_id, "approved" if approve else "rejected", {"pending"}, actor, by)

    def lock(self, user_id: int, actor: int, by: str) -> Change | None:
        """Lock an official out (no answers, tasks or announcements) until an explicit unlock."""
        return self._change_status(user_id, "inactive", {"pending", "approved", "rejected"}, actor, by)

    def unlock(self, user_id: int, actor: int, by: str) -> Change | None:
        """Lift a lock or a rejection (or approve a pending request): the official is approved."""
        return self._change_status(user_id, "approved", {"pending", "inactive", "rejected"}, actor, by)

    def _change_status(
        self, user_id: int, status: Status, allowed_from: set[Status], actor: int, by: str
    ) -> Change | None:
        """Set the status if the current one is in `allowed_from` (atomically, audited); None if no such user."""
        marks = ", ".join("?" for _ in allowed_from)
        cursor = self.db.execute(
            f"UPDATE users SET status = ?, updated_at = ? WHERE id = ? AND status IN ({marks})",
            [status, utc_now(), user_id, *sorted(allowed_from)],
        )
        self.db.conn.commit()
        user = self.by_id(user_id)
        if user is None:
            return None
        if cursor.rowcount == 1:
            self.audit(actor, f"status:{status}", str(user_id), by)
            return Change(user, changed=True)
        return Change(user, changed=False, standing=self.last_decision(user_id))

    def move(self, user_id: int, unit_code: str, actor: int, by: str = "") -> Change | None:
        """Put a user in another unit (audited)."""
        user = self.by_id(user_id)
        if user is None:
            return None
        if user.unit_code == unit_code:
            return Change(user, changed=False)
        self.db.table("users").update(user_id, {"unit_code": unit_code, "updated_at": utc_now()})
        self.audit(actor, "move", str(user_id), f"{user.unit_code} -> {unit_code}" + (f" by {by}" if by else ""))
        moved = self.by_id(user_id)
        assert moved is not None, "the user was just updated"
        return Change(moved, changed=True)

    def mark_blocked(self, chat_id: int) -> None:
        """The official blocked the bot (Telegram said 403): inactive for sending until they write again."""
        for row in self.db.table("users").rows_where("chat_id = ? AND blocked = 0", [chat_id]):
            self.db.table("users").update(row["id"], {"blocked": 1, "updated_at": utc_now()})
            self.audit(0, "blocked-bot", str(row["id"]), "Forbidden: bot was blocked by the user")

    def mark_reachable(self, telegram_id: int) -> None:
        """An official who had blocked the bot wrote to it again."""
        user = self.by_telegram(telegram_id)
        if user and user.blocked:
            self.db.table("users").update(user.id, {"blocked": 0, "updated_at": utc_now()})
            self.audit(telegram_id, "unblocked-bot", str(user.id), "")

    def admin_menu_holders(self) -> set[int]:
        """Telegram ids that were shown the admin command menu."""
        return {row["telegram_id"] for row in self.db.table("admin_menus").rows}

    def record_admin_menu(self, telegram_id: int, shown: bool) -> None:
        """Remember that this person was shown the admin menu (or that it was taken back)."""
        if shown:
            self.db.table("admin_menus").upsert({"telegram_id": telegram_id, "at": utc_now()}, pk="telegram_id")
        else:
            self.db.table("admin_menus").delete_where("telegram_id = ?", [telegram_id])

    def audit(self, actor: int, action: str, target: str, detail: str) -> None:
        self.db.table("audit").insert(
            {"at": utc_now(), "actor": actor, "action": action, "target": target, "detail": detail}
        )

    def audit_entries(self) -> list[dict]:
        return list(self.db.table("audit").rows_where(order_by="id"))

    # ---------------------------------------------------------------------------------- staff list

    def import_csv(self, text: str, settings: Settings) -> ImportResult:
        """Load a staff list (header ho_ten,don_vi,chuc_vu,so_dien_thoai,telegram_id).

        Every row is checked first; if any is bad, BadRows lists them by row number and nothing is
        written. A row with a telegram_id is approved at once. Names, units and phones of known officials
        are updated, but a locked or rejected official keeps that status (counted in `kept_locked`).
        """
        rows, problems = _parse_staff(text, settings)
        if problems:
            raise BadRows(problems)
        added = updated = kept_locked = 0
        with self.db.atomic():
            for row in rows:
                existing = None
                if row["telegram_id"] is not None:
                    existing = self.by_telegram(row["telegram_id"])
                if existing is None and row["phone"]:
                    existing = self._one("phone = ?", [row["phone"]])
                values = {**row, "status": "approved", "source": "csv", "updated_at": utc_now()}
                if row["telegram_id"] is not None:
                    values["chat_id"] = row["telegram_id"]  # a private chat's id is the user's id
                if existing and existing.status in STANDING:
                    values["status"] = existing.status
                    kept_locked += 1
                if existing:
                    self.db.table("users").update(existing.id, values)
                    updated += 1
                else:
                    self.db.table("users").insert({**values, "created_at": utc_now()})
                    added += 1
        self.audit(OPERATOR, "import-csv", "", f"{added} added, {updated} updated, kept locked: {kept_locked}")
        return ImportResult(added, updated, kept_locked)

    # ------------------------------------------------------------------------------ answers, votes

    def next_answer_id(self) -> int:
        """The id the next answer recorded gets (the running bot numbers its answers from here)."""
        return int(self.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM answers").fetchone()[0])

    def record_answer(
        self, telegram_id: int, question: str, answered: bool, citations: list[Citation], answer_id: int | None = None
    ) -> int:
        """Keep a question with the citations shown (for buttons and feedback), under `answer_id` when the
        caller numbered it already; returns its id."""
        row = {
            "id": answer_id,
            "at": utc_now(),
            "telegram_id": telegram_id,
            "question": question,
            "answered": int(answered),
            "citations": json.dumps([c.model_dump() for c in citations], ensure_ascii=False),
        }
        return int(self.db.table("answers").insert(row).last_pk or 0)

    def answer_record(self, answer_id: int) -> tuple[str, list[Citation]] | None:
        rows = list(self.db.table("answers").rows_where("id = ?", [answer_id]))
        if not rows:
            return None
        return rows[0]["question"], [Citation(**c) for c in json.loads(rows[0]["citations"])]

    def record_vote(self, answer_id: int, telegram_id: int, vote: int) -> None:
        """👍 (+1) or 👎 (-1); pressing again replaces the earlier vote."""
        self.db.table("feedback").upsert(
            {"answer_id": answer_id, "telegram_id": telegram_id, "vote": vote, "at": utc_now()},
            pk=("answer_id", "telegram_id"),
        )

    def feedback_csv(self) -> str:
        """Votes with their question and the citations shown, as CSV (grows the question sets).

        Text cells that a spreadsheet would run as a formula are neutralised (see `spreadsheet_safe`)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["at", "telegram_id", "vote", "question", "citations"])
        sql = (
            "SELECT f.at, f.telegram_id, f.vote, a.question, a.citations FROM feedback f "
            "JOIN answers a ON a.id = f.answer_id ORDER BY f.at"
        )
        for at, telegram_id, vote, question, citations in self.db.execute(sql).fetchall():
            ids = "; ".join(f"{c['doc_id']}:{c['loc']}" for c in json.loads(citations))
            writer.writerow([at, telegram_id, vote, spreadsheet_safe(question), spreadsheet_safe(ids)])
        return out.getvalue()


class StaffRow(FileRow):
    """One row of a staff list."""

    ho_ten: str
    don_vi: str
    chuc_vu: str
    so_dien_thoai: str = ""
    telegram_id: str = ""

    @field_validator("ho_ten", "chuc_vu")
    @classmethod
    def _filled(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            raise ValueError(f"{info.field_name} is empty")
        return value

    @field_validator("don_vi")
    @classmethod
    def _unit_code(cls, value: str, info: ValidationInfo) -> str:
        unit = settings_in(info).unit(value)
        if unit is None:
            raise ValueError(f"don_vi '{value}' is not a unit name or code in config.yaml")
        return unit.code

    @field_validator("so_dien_thoai")
    @classmethod
    def _phone(cls, value: str) -> str:
        number = normalize_phone(value)
        if value and not 9 <= len(number) <= 11:
            raise ValueError(f"so_dien_thoai '{value}' is not a phone number")
        return number

    @field_validator("telegram_id")
    @classmethod
    def _telegram_id(cls, value: str) -> str:
        if value and not value.isdigit():
            raise ValueError(f"telegram_id '{value}' is not a number")
        return value

    def user_fields(self) -> dict[str, Any]:
        """The users-table columns this row sets."""
        return {
            "full_name": self.ho_ten,
            "unit_code": self.don_vi,
            "position": self.chuc_vu,
            "phone": self.so_dien_thoai,
            "telegram_id": int(self.telegram_id) if self.telegram_id else None,
        }


def _parse_staff(text: str, settings: Settings) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of a staff CSV, and the problems found, each naming its row (the header is row 1)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in next(reader, [])]
    if header != CSV_HEADER:
        return [], [f"row 1: header must be {','.join(CSV_HEADER)} (found {','.join(header) or 'nothing'})"]
    records = [(n, fields) for n, fields in enumerate(reader, start=2) if any(f.strip() for f in fields)]
    miscounted = [
        f"row {n}: expected {len(CSV_HEADER)} fields, found {len(fields)}"
        for n, fields in records
        if len(fields) != len(CSV_HEADER)
    ]
    counted = [
        (n, dict(zip(CSV_HEADER, fields, strict=True))) for n, fields in records if len(fields) == len(CSV_HEADER)
    ]
    valid, problems = check_rows(StaffRow, counted, {"settings": settings})
    problems += repeated(valid, "telegram_id") + repeated(valid, "so_dien_thoai", says="phone {value}")
    return [row.user_fields() for _, row in valid], by_row(miscounted + problems)
