"""`cchc`: ingest legal texts, ask questions, chat, list documents, show clauses, evaluate retrieval."""

from __future__ import annotations

import json
import logging
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from zoneinfo import ZoneInfo

import click

from base.serving import SearchServerUnavailable, one_writer
from base.settings import ConfigError, Settings, load
from base.threads import blas_on_one_thread

if TYPE_CHECKING:  # the commands import these late: loading Chroma and the model is slow
    import threading
    from collections.abc import Callable

    from knowledge.consolidation import Version
    from knowledge.index import ClauseIndex
    from knowledge.records import Answer
    from knowledge.register import ObligationRegister
    from knowledge.store import ClauseStore
    from office.broadcasts import Outbox
    from office.tasks import TaskStore
    from office.users import Change, Status, UserStore

log = logging.getLogger("cchc")
BULK_NICENESS = 10  # how far an ingest or an import steps back while a bot answers from the same data dir
ANOTHER_WRITER = "Another ingest or restore is writing to this data directory: waiting for it to finish."


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.find_root().obj["settings"]
    return settings


def _index(ctx: click.Context) -> ClauseIndex:
    """The ClauseIndex for the chosen data dir (imported late: it loads Chroma)."""
    from knowledge.index import ClauseIndex

    if "index" not in ctx.obj:
        ctx.obj["index"] = ClauseIndex(_settings(ctx))
    index: ClauseIndex = ctx.obj["index"]
    return index


class Commands(click.Group):
    """The cchc commands: a search server that does not answer ends any of them with its message, not a
    traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SearchServerUnavailable as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=Commands)
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="config.yaml to use.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    envvar="CCHC_DATA_DIR",
    help="Where the Chroma store and SQLite database live (or CCHC_DATA_DIR).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, data_dir: Path | None, verbose: bool) -> None:
    """Trợ lý CCHC: clause-cited answers from directives, decrees and laws.

    \b
    Example:
        cchc ingest ../shared/corpus
        cchc ask "Hạn chót gửi báo cáo kiểm điểm là ngày nào?"
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    blas_on_one_thread()
    try:
        settings = load(config_path, data_dir)
    except ConfigError as exc:
        raise click.ClickException(f"Configuration error: {exc}") from None
    ctx.obj = {"settings": settings}


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--prune", is_flag=True, help="Drop documents whose files are no longer among PATHS.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], prune: bool, quiet: bool) -> None:
    """Load documents (.txt .md .docx .pdf .html) into the knowledge base.

    Unchanged files are skipped, changed ones replaced. Without PATHS, the config's `corpus` is read.
    Exit code 1 if any file failed (the others still go in).

    \b
    Example:
        cchc ingest ../shared/corpus ~/van-ban/nghi-dinh-107-2021.docx --prune
    """
    from ingest.pipeline import Ingester

    chosen = list(paths) or _settings(ctx).corpus
    if not chosen:
        raise click.UsageError("name files or folders to ingest, or set `corpus` in config.yaml")
    with one_writer(_settings(ctx).data_dir, lambda: click.echo(ANOTHER_WRITER, err=True)):
        report = Ingester(_ingest_index(ctx), show_progress=not quiet).run(chosen, prune=prune)
    for label, items in (("added", report.added), ("updated", report.updated), ("removed", report.removed)):
        for doc_id in items:
            click.echo(f"{label}: {doc_id}")
    click.echo(f"unchanged: {len(report.unchanged)} document(s)")
    if report.obligations:
        click.echo(f"obligations read again: {len(report.obligations)} document(s)")
    for _path, reason in report.failed:
        click.echo(f"FAILED: {reason}", err=True)
    if not report.ok:
        ctx.exit(1)


def _step_back_for_bot(ctx: click.Context, doing: str) -> bool:
    """While a bot answers from the same data dir, run this bulk command at low priority (it takes longer,
    answers stay quick) and say so; True when it stepped back."""
    import os

    from base.serving import someone_serving

    if not someone_serving(_settings(ctx).data_dir):
        return False
    os.nice(BULK_NICENESS)
    click.echo(f"A bot or search server is answering from this data directory: {doing} at low priority.", err=True)
    return True


def _ingest_index(ctx: click.Context) -> ClauseIndex:
    """The index to ingest into; while a bot answers from the same data dir, the encoder runs at low
    priority on one thread, so that answers stay quick (the ingest takes longer)."""
    from knowledge.embeddings import build_embeddings
    from knowledge.index import ClauseIndex

    if not _step_back_for_bot(ctx, "embedding on one thread"):
        return _index(ctx)
    settings = _settings(ctx)
    ctx.obj["index"] = ClauseIndex(settings, embeddings=build_embeddings(settings.embeddings, threads=1))
    return _index(ctx)


def _answer_json(answer: Answer) -> str:
    payload = answer.model_dump(include={"question", "answered", "answer", "direct", "citations", "suggestions"})
    return json.dumps(payload, ensure_ascii=False)


def _day(value: str | None) -> date | None:
    """--as-of YYYY-MM-DD (or DD/MM/YYYY) as a date."""
    if value is None:
        return None
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise click.BadParameter(f"'{value}' is not a day like 2026-09-01", param_hint="--as-of")


AS_OF = click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Answer with the wording in force that day.")


def _register(ctx: click.Context) -> ObligationRegister:
    """The obligation register of the chosen data dir, brought in step with its documents and units."""
    from knowledge.register import ObligationRegister

    register = ObligationRegister.of(_index(ctx).store, _settings(ctx))
    register.sync(_today(ctx))
    return register


def _today(ctx: click.Context) -> date:
    """Today in the town's time zone."""
    return datetime.now(ZoneInfo(_settings(ctx).reminders.timezone)).date()


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per question.")
@click.option("--top-k", type=click.IntRange(1, 100), help="Return the N best clauses as citations.")
@click.option("--unit", help="Ask as an official of this unit (code or name): 'đơn vị tôi phải làm gì?'.")
@AS_OF
@click.pass_context
def ask(
    ctx: click.Context, question: str, as_json: bool, top_k: int | None, unit: str | None, as_of: str | None
) -> None:
    """Answer a question with the clauses it rests on. QUESTION '-' reads one question per line from stdin.

    Amended clauses are answered in their wording in force today, or on the --as-of day. A question about
    a unit's duties ("Phòng Tư pháp có nhiệm vụ gì theo chỉ thị?", with --unit also "đơn vị tôi phải làm
    gì?", "việc nào sắp đến hạn?") is answered from the obligation register (today's wording). When no
    clause answers directly but the texts are about the question, the nearest clauses are offered instead
    ("answered": false, "citations": [], "suggestions": [...] in JSON); when nothing loaded is about it,
    the answer says so with no clauses at all.

    \b
    Example:
        cchc ask "han nop bao cao kiem diem"
        cchc ask --as-of 2026-06-01 "Thời hạn kiểm tra hồ sơ là bao lâu?"
        cchc ask --unit TP "Đơn vị tôi phải làm gì theo chỉ thị?"
        printf 'Báo cáo kiểm điểm gửi về đâu?\\n' | cchc ask --json -
    """
    from knowledge.duties import answer_for

    day = _day(as_of)
    chosen = _settings(ctx).unit(unit) if unit else None
    if unit and chosen is None:
        raise click.UsageError(f"--unit {unit} is not a unit name or code in config.yaml")
    index, register, today = _index(ctx), _register(ctx), _today(ctx)
    questions = (line.strip() for line in sys.stdin) if question == "-" else iter([question])
    for text in questions:
        if not text:
            continue
        asker = chosen.code if chosen else None
        result = answer_for(index, register, text, asker, today, top_k=top_k, as_of=day).answer
        click.echo(_answer_json(result) if as_json else result.answer)


@cli.command()
@click.option("--unit", help="Only this unit (code or name), or a group's units (tat-ca, phong-ban, ...).")
@click.option("--doc", "doc_id", help="Only this document (its doc_id, see `cchc docs`).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line and unit.")
@click.pass_context
def obligations(ctx: click.Context, unit: str | None, doc_id: str | None, as_json: bool) -> None:
    """The obligation register: who must do what, in what role, by when, from which clause.

    JSON: one object per unit an obligation falls to, {"doc_id", "loc", "label", "unit", "role" (chu-tri,
    phoi-hop, thuc-hien), "action", "deadline" (YYYY-MM-DD or null), "recurrence" ([hang-tuan, hang-thang,
    hang-quy, 6-thang, hang-nam]), "term" (a relative term as written, or null)}.

    \b
    Example:
        cchc obligations --unit TP
        cchc obligations --doc chi-thi-cchc-thi-xa --json
    """
    from knowledge.duties import ROLE_NAMES, when_text
    from knowledge.labels import shorten

    settings = _settings(ctx)
    units = settings.unit_codes(unit) if unit else None
    if unit and units is None:
        raise click.UsageError(f"--unit {unit} is not a unit name, code or group of config.yaml")
    register = _register(ctx)
    if doc_id and register.store.document(doc_id) is None:
        raise click.ClickException(f"no document {doc_id} (see `cchc docs`)")
    for o in register.obligations(units, doc_id):
        if as_json:
            click.echo(json.dumps(o.public(), ensure_ascii=False))
        else:
            when = when_text(o) or "Thường xuyên"
            click.echo(f"{o.unit:<5} {ROLE_NAMES[o.role]:<10} {when[:40]:<40} {o.label}: {shorten(o.action, 120)}")


@cli.command()
@click.option("--unit", help="Chat as an official of this unit (code or name): 'đơn vị tôi phải làm gì?'.")
@click.pass_context
def chat(ctx: click.Context, unit: str | None) -> None:
    """Interactive console chat (type a question, empty line or Ctrl-D to quit), answered as `cchc ask`
    answers: duty questions from the obligation register, the rest from the clauses.

    \b
    Example:
        cchc chat
        cchc chat --unit TP
    """
    import threading

    from base.serving import ServingLock
    from knowledge.duties import answer_for

    chosen = _settings(ctx).unit(unit) if unit else None
    if unit and chosen is None:
        raise click.UsageError(f"--unit {unit} is not a unit name or code in config.yaml")
    index, register = _index(ctx), _register(ctx)
    index.search("khởi động", k=1)  # load the model and the lexical index before the first question
    serving = ServingLock(_settings(ctx).data_dir)
    serving.acquire()
    stop = threading.Event()
    threading.Thread(target=_follow_ingests, args=(index, stop), daemon=True).start()
    click.echo("Trợ lý CCHC — hỏi về các văn bản đã nạp (dòng trống để thoát).")
    try:
        while True:
            try:
                text = input("? ").strip()
            except EOFError:
                break
            if not text:
                break
            asker = chosen.code if chosen else None
            click.echo(answer_for(index, register, text, asker, _today(ctx)).answer.answer + "\n")
    finally:
        stop.set()
        serving.release()


def _follow_ingests(index: ClauseIndex, stop: threading.Event) -> None:
    """Load an ingest made by another process in the background, so the next question finds it."""
    while not stop.wait(2):
        index.refresh(wait=False)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def docs(ctx: click.Context, as_json: bool) -> None:
    """List the loaded documents with their clause counts, what they amend and what amends them.

    An amending document whose original is not loaded is flagged: its clauses are answered as the
    amending text they are until the original is ingested.

    \b
    Example:
        cchc docs
    """
    index = _index(ctx)
    store, day = index.store, index.today()
    rows = store.document_rows()
    if as_json:
        keep = ["doc_id", "title", "full_title", "doc_type", "number", "issued", "issuer", "subject", "effect"]
        keep.append("clause_count")
        for row in rows:
            meta = store.document(row["doc_id"])
            amends = store.versions.amends(meta) if meta else []
            payload = {k: row[k] for k in keep} | {
                "amends": [number for number, _ in amends],
                "amends_loaded": all(loaded for _, loaded in amends),
            }
            click.echo(json.dumps(payload, ensure_ascii=False))
        return
    if not rows:
        click.echo("No documents loaded yet: run `cchc ingest PATH`.")
    for row in rows:
        facts = ", ".join(x for x in (row["issued"], row["issuer"], row["effect"]) if x)
        click.echo(
            f"{row['doc_id']}  ({row['clause_count']} clauses)  {row['title']}" + (f"  [{facts}]" if facts else "")
        )
        if row["full_title"] and row["full_title"] != row["title"]:
            click.echo(f"    {row['full_title']}")
        for line in _document_remarks(store, row["doc_id"], day):
            click.echo(f"    {line}")


def _document_remarks(store: ClauseStore, doc_id: str, day: date) -> list[str]:
    """What a document amends (warning when the original is missing), what amended it, whether in force."""
    meta = store.document(doc_id)
    if meta is None:
        return []
    lines = []
    for number, loaded in store.versions.amends(meta):
        lines.append(
            f"amends {number}"
            if loaded
            else f"WARNING: amends {number}, which is not loaded: its amending clauses are answered as written"
        )
    failed = [r for r in store.versions.operations_of(doc_id) if r["target_doc"] and r["outcome"]]
    for row in failed:
        lines.append(f"WARNING: {row['made_by']} could not be applied: {row['outcome']}")
    if by := store.versions.amended_by_documents(doc_id):
        lines.append("amended by " + ", ".join(by))
    if note := store.versions.document_note(meta, day):
        lines.append(f"not in force today: {note}")
    return lines


@cli.command()
@click.argument("clause_id")
@AS_OF
@click.pass_context
def show(ctx: click.Context, clause_id: str, as_of: str | None) -> None:
    """Print a clause in its wording in force (today, or on the --as-of day), then its history: each
    version with the clause that made it and the day it took effect.

    \b
    Example:
        cchc show chi-thi-cchc-thi-xa:2.đ
        cchc show nd-99-2026:3.1 --as-of 2026-06-01
    """
    from knowledge.labels import citation_label
    from knowledge.provisions import amendment_note
    from knowledge.vietnamese import normalize

    index = _index(ctx)
    store, wanted = index.store, normalize(clause_id)
    day = _day(as_of) or index.today()
    clause, history = store.clause(wanted), store.versions.history(wanted)
    if clause is None:
        raise click.ClickException(f"no clause {clause_id} (see `cchc docs`; ids look like doc_id:2.c)")
    found = store.versions.clause_on(wanted, day)
    document = store.document(clause.doc_id)
    note = amendment_note([store.versions.change(v) for v in found.changes]) if found else ""
    click.echo(" ".join(x for x in (citation_label(clause.label, document.title if document else ""), note) if x))
    shown = found.clause if found else clause
    for line in (shown.division, shown.heading):
        if line:
            click.echo(line)
    click.echo(found.clause.text if found else _absent(store, history, day))
    if history:
        click.echo("\nLịch sử:")
        for version in history:
            click.echo(_history_line(store, version, day))


def _absent(store: ClauseStore, history: list[Version], day: date) -> str:
    """Why a clause has no wording in force on `day`: repealed, lapsed, or not added yet."""
    from knowledge.consolidation import ABSENT, vn_day

    ended = next((v for v in reversed(history) if v.kind in ABSENT and v.since and v.since <= day), None)
    if ended and ended.since:
        verb = "bãi bỏ bởi" if ended.kind == "repealed" else "hết hiệu lực theo"
        return f"(Không còn hiệu lực từ ngày {vn_day(ended.since)}: {verb} {store.versions.change(ended)[1]}.)"
    coming = next((v for v in history if v.since and v.since > day and v.kind not in ABSENT), None)
    if coming and coming.since:
        return f"(Chưa có hiệu lực vào ngày {vn_day(day)}: được bổ sung từ ngày {vn_day(coming.since)}.)"
    return f"(Không có hiệu lực vào ngày {vn_day(day)}.)"


def _history_line(store: ClauseStore, version: Version, day: date) -> str:
    """'- từ 01/9/2026 đến 31/12/2026 — sửa đổi bởi …: <text>' for one version of a clause."""
    from knowledge.consolidation import vn_day

    start = f"từ {vn_day(version.since)}" if version.since else "ban đầu"
    end = f" đến {vn_day(version.until - timedelta(days=1))}" if version.until else ""
    if version.until and version.since and version.until <= version.since:
        end = " (thay ngay trong cùng ngày)"
    kind, label, _ = store.versions.change(version) if version.made_by else (version.kind, "", None)
    how = {
        "original": "nguyên văn",
        "amended": f"sửa đổi bởi {label}",
        "added": f"bổ sung bởi {label}",
        "repealed": f"bãi bỏ bởi {label}",
        "lapsed": f"hết hiệu lực theo {label}",
    }[kind]
    mark = " [đang có hiệu lực]" if version.valid_on(day) else ""
    text = " ".join(version.clause.text.split())
    return f"- {start}{end} — {how}{mark}" + (f":\n  {text}" if text else "")


@cli.command(name="eval")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--unaccented/--no-unaccented", default=True, help="Also ask the questions typed without accents.")
@click.option("--cv", "cross", is_flag=True, help="Also cross-validate the answer thresholds over the files.")
@click.pass_context
def eval_command(ctx: click.Context, files: tuple[Path, ...], unaccented: bool, cross: bool) -> None:
    """Print ranking (hit@1, hit@3, MRR@10) and the three outcomes for question files.

    With --cv, the thresholds of `answer.decision` are also chosen by 5-fold cross-validation over all
    the files' questions pooled, and each file is scored under thresholds chosen without it.

    \b
    Example:
        cchc eval ../shared/eval/dev-chithi.yaml
        cchc eval --cv ../shared/eval/*.yaml tests/data/calibration-*.yaml
    """
    from knowledge.evaluation import cross_validate, load_questions, observe, outcome_shares, score
    from knowledge.evaluation import unaccented as strip_accents

    index = _index(ctx)
    trials = []
    for path in files:
        questions = load_questions(path)
        trials += [observe(index, q) for q in questions + (strip_accents(questions) if unaccented else [])]
    sources = [t.question.source for t in trials]
    shares = outcome_shares(trials, index.settings.answer.decision)
    for source in dict.fromkeys(sources):
        rows = [i for i, s in enumerate(sources) if s == source]
        click.echo("\n".join(score([trials[i] for i in rows], shares[rows]).lines(source)))
    if cross:
        validated = cross_validate(trials)
        click.echo("\nCross-validated (5 folds x 10): thresholds chosen most often:")
        for thresholds, n in validated.common(2):
            click.echo(f"  {n} folds: {thresholds.model_dump()}")
        for source in dict.fromkeys(sources):
            rows = [i for i, s in enumerate(sources) if s == source]
            click.echo("\n".join(score([trials[i] for i in rows], validated.shares[rows]).lines(f"{source}, CV")))


@cli.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Run the Telegram bot (token from TELEGRAM_BOT_TOKEN; polling, or webhook by config).

    \b
    Example:
        export TELEGRAM_BOT_TOKEN='123456:ABC...'
        cchc serve
    """
    import os

    from bot.app import ServeError
    from bot.app import serve as run_bot

    try:
        run_bot(_settings(ctx), os.environ.get("TELEGRAM_BOT_TOKEN"))
    except ServeError as exc:
        raise click.ClickException(str(exc)) from None


@cli.command(name="search-server")
@click.option("--host", help="Address to listen on (default: lexical.host in config.yaml).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on (default: lexical.port).")
@click.pass_context
def search_server(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the data directory's lexical (BM25) index over HTTP to answering processes configured with
    `lexical.mode: server`; it follows every ingest without a restart.

    \b
    Example:
        cchc search-server --port 8001
    """
    from base.database import open_database
    from base.serving import ServingLock
    from knowledge.index import StoreSource
    from knowledge.lexical import LexicalIndex
    from knowledge.search_server import SearchService, run_search_server
    from knowledge.store import ClauseStore

    settings = _settings(ctx)
    db = open_database(settings.database_path)
    service = SearchService(LexicalIndex(db, settings.data_dir), StoreSource(ClauseStore(db)))
    host, port = host or settings.lexical.host, port or settings.lexical.port
    serving = ServingLock(settings.data_dir)  # an ingest beside it steps back, as beside a bot
    serving.acquire()

    def listening() -> None:
        click.echo(
            f"Searching the lexical index of {settings.data_dir} at http://{host}:{port} (Ctrl+C stops).", err=True
        )

    try:
        run_search_server(service, host, port, listening)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    finally:
        serving.release()


@cli.command(name="backup")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def backup_command(ctx: click.Context, dest: Path) -> None:
    """Write a consistent copy of the data directory to DEST (a new or empty folder), safe while
    `cchc serve` runs: the database through SQLite's online backup API, the vectors it needs, attachments.

    \b
    Example:
        cchc backup /var/backups/cchc/$(date +%F)
    """
    from cchc.backup import BackupError, backup

    try:
        report = backup(_settings(ctx), dest)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    counts = ", ".join(f"{report.tables.get(t, 0)} {t}" for t in ("documents", "users", "tasks", "deliveries"))
    click.echo(f"backed up to {dest}: {counts}")
    click.echo(
        f"vectors: {report.vectors} copied"
        + (f", {report.missing_vectors} to embed again on restore" if report.missing_vectors else "")
    )


@cli.command(name="restore")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Move a non-empty data directory aside (…before-restore-…) first.")
@click.pass_context
def restore_command(ctx: click.Context, src: Path, force: bool) -> None:
    """Restore a backup made by `cchc backup` as the data directory (refused if it is not empty, unless
    --force, which moves it aside). Stop `cchc serve` (and `cchc search-server`) first.

    \b
    Example:
        cchc --data-dir /srv/cchc/data restore /var/backups/cchc/2026-03-01
    """
    from cchc.backup import BackupError, restore

    try:
        report = restore(_settings(ctx), src, force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    if report.moved_aside:
        click.echo(f"moved aside: {report.moved_aside}")
    counts = ", ".join(f"{report.tables.get(t, 0)} {t}" for t in ("documents", "users", "tasks", "deliveries"))
    click.echo(f"restored into {_settings(ctx).data_dir}: {counts}")
    if report.embedded:
        click.echo(f"vectors embedded again: {report.embedded}")


@cli.group()
def users() -> None:
    """Officials who may use the bot: import a staff list, list, approve, lock, move.

    \b
    Example:
        cchc users import staff.csv
        cchc users list --json
        cchc users lock 0912345678
    """


def _user_store(ctx: click.Context) -> UserStore:
    from base.database import open_database
    from office.users import UserStore

    return UserStore(open_database(_settings(ctx).database_path))


def _refuse_file(path: Path, problems: list[str]) -> NoReturn:
    """Report each bad row of an import file by number; nothing was written."""
    for problem in problems:
        click.echo(f"{path}: {problem}", err=True)
    raise click.ClickException(f"{len(problems)} bad row(s); nothing was imported")


@users.command(name="import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def users_import(ctx: click.Context, csv_file: Path) -> None:
    """Load a staff list: header ho_ten,don_vi,chuc_vu,so_dien_thoai,telegram_id.

    Every row is checked first; bad rows are reported by number and nothing is written unless all are
    valid. A row with a telegram_id is approved at once; the others are approved when the official
    shares that phone number with the bot at /start. Names, units and phones of known officials are
    updated, but a locked or rejected official stays so ("kept locked: N"): only `cchc users unlock`
    or /mokhoa lifts that.

    \b
    Example:
        cchc users import can-bo.csv
    """
    from office.rows import BadRows

    try:
        text = csv_file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{csv_file}: not UTF-8; save it as CSV UTF-8 and import again") from None
    _step_back_for_bot(ctx, "importing")
    try:
        result = _user_store(ctx).import_csv(text, _settings(ctx))
    except BadRows as exc:
        _refuse_file(csv_file, exc.problems)
    click.echo(f"imported: {result.added} added, {result.updated} updated, kept locked: {result.kept_locked}")


@users.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per user.")
@click.pass_context
def users_list(ctx: click.Context, as_json: bool) -> None:
    """List the users with unit, position and status.

    \b
    Example:
        cchc users list --json
    """
    for user in _user_store(ctx).find():
        if as_json:
            click.echo(user.model_dump_json())
        else:
            linked = user.telegram_id if user.telegram_id else "-"
            click.echo(f"#{user.id}  {user.full_name}  {user.unit_code}  {user.position}  {user.status}  {linked}")


def _one_user(ctx: click.Context, id_or_phone: str) -> tuple[UserStore, int]:
    """The store and the id of the one user ID_OR_PHONE names, or a clear error."""
    store = _user_store(ctx)
    found = store.resolve(id_or_phone)
    if not found:
        raise click.ClickException(f"no user {id_or_phone} (see `cchc users list`; give #id or a phone number)")
    if len(found) > 1:
        ids = ", ".join(f"#{u.id} {u.full_name}" for u in found)
        raise click.ClickException(f"{id_or_phone} names {len(found)} users ({ids}); give the #id")
    return store, found[0].id


def _operator() -> str:
    """The login recorded in the audit log for a command typed at the server."""
    import getpass

    try:
        return f"cchc ({getpass.getuser()})"
    except (KeyError, OSError):
        return "cchc"


def _report_change(change: Change | None, done: str, target: Status | None = None) -> None:
    """Print what a user command did; a standing decision it may not override is an error naming who made it."""
    if change is None:
        raise click.ClickException("the user is gone")
    user = change.user
    who = f"#{user.id} {user.full_name} ({user.unit_code})"
    if change.changed:
        click.echo(f"{done}: {who}")
        return
    standing = change.standing
    since = f" (by {standing.by} at {standing.at})" if standing else ""
    if target is None or user.status == target:
        click.echo(f"unchanged: {who} is already {user.status if target else 'there'}{since if target else ''}")
        return
    hint = "; `cchc users unlock` lifts it" if user.status in ("inactive", "rejected") else ""
    raise click.ClickException(f"{who} is {user.status}{since}, not pending{hint}")


def _change_user(
    ctx: click.Context,
    id_or_phone: str,
    change: Callable[[UserStore, int], Change | None],
    done: str,
    target: Status | None = None,
) -> None:
    """Apply one user command's change (the store's, with the bot commands' rules and audit) and report it."""
    store, user_id = _one_user(ctx, id_or_phone)
    _report_change(change(store, user_id), done, target)


@users.command(name="approve")
@click.argument("id_or_phone")
@click.pass_context
def users_approve(ctx: click.Context, id_or_phone: str) -> None:
    """Approve a pending registration (as the ✅ Duyệt button: only a pending one).

    \b
    Example:
        cchc users approve 12
    """
    from office.users import OPERATOR

    _change_user(ctx, id_or_phone, lambda s, u: s.decide(u, True, OPERATOR, _operator()), "approved", "approved")


@users.command(name="reject")
@click.argument("id_or_phone")
@click.pass_context
def users_reject(ctx: click.Context, id_or_phone: str) -> None:
    """Reject a pending registration (as the ❌ Từ chối button: only a pending one).

    \b
    Example:
        cchc users reject 12
    """
    from office.users import OPERATOR

    _change_user(ctx, id_or_phone, lambda s, u: s.decide(u, False, OPERATOR, _operator()), "rejected", "rejected")


@users.command(name="lock")
@click.argument("id_or_phone")
@click.pass_context
def users_lock(ctx: click.Context, id_or_phone: str) -> None:
    """Lock an official out until `cchc users unlock` or /mokhoa (as /khoa); imports keep the lock.

    \b
    Example:
        cchc users lock 0912345678
    """
    from office.users import OPERATOR

    _change_user(ctx, id_or_phone, lambda s, u: s.lock(u, OPERATOR, _operator()), "locked", "inactive")


@users.command(name="unlock")
@click.argument("id_or_phone")
@click.pass_context
def users_unlock(ctx: click.Context, id_or_phone: str) -> None:
    """Lift a lock or a rejection, or approve a pending request (as /mokhoa).

    \b
    Example:
        cchc users unlock '#12'
    """
    from office.users import OPERATOR

    _change_user(ctx, id_or_phone, lambda s, u: s.unlock(u, OPERATOR, _operator()), "unlocked", "approved")


@users.command(name="move")
@click.argument("id_or_phone")
@click.argument("unit")
@click.pass_context
def users_move(ctx: click.Context, id_or_phone: str, unit: str) -> None:
    """Put an official in another unit (code or name), as /chuyen.

    \b
    Example:
        cchc users move 12 VHTT
    """
    chosen = _settings(ctx).unit(unit)
    if chosen is None:
        codes = ", ".join(u.code for u in _settings(ctx).units)
        raise click.UsageError(f"{unit} is not a unit name or code in config.yaml ({codes})")
    from office.users import OPERATOR

    code = chosen.code
    _change_user(ctx, id_or_phone, lambda s, u: s.move(u, code, OPERATOR, _operator()), f"moved to {code}")


@cli.group()
def tasks() -> None:
    """The task table: duties with deadlines drawn from directive clauses.

    \b
    Example:
        cchc tasks import samples/tasks/chi-thi-cchc-thi-xa.yaml
        cchc tasks list --unit TP --status open
    """


def _task_store(ctx: click.Context) -> TaskStore:
    from base.database import open_database
    from office.tasks import TaskStore

    return TaskStore(open_database(_settings(ctx).database_path), _settings(ctx))


@tasks.command(name="import")
@click.argument("task_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--from", "since", help="Deadlines owed from this day (YYYY-MM-DD or DD/MM/YYYY); default today.")
@click.pass_context
def tasks_import(ctx: click.Context, task_file: Path, since: str | None) -> None:
    """Load tasks from CSV (ma,ten,noi_dung,can_cu,don_vi,han,lap_lai,nhac_truoc[,tu_ngay]) or YAML.

    Every row is checked first (clauses must exist in the index, units in config.yaml); bad rows are
    reported by number and nothing is written unless all are valid. An existing `ma` is updated. A
    task's deadlines count from the day it is first imported, so nothing from before is overdue; a
    `tu_ngay` column or --from tracks an earlier period.

    \b
    Example:
        cchc tasks import samples/tasks/chi-thi-cchc-thi-xa.yaml
        cchc tasks import --from 2026-01-01 nhiem-vu.csv
    """
    from office.rows import BadRows
    from office.tasks import parse_day, read_task_file

    _step_back_for_bot(ctx, "importing")
    store = _index(ctx).store
    try:
        counted_from = parse_day(since) if since else None
    except ValueError:
        raise click.UsageError(f"--from {since} is not a date (YYYY-MM-DD or DD/MM/YYYY)") from None
    try:
        rows = read_task_file(task_file.read_text(encoding="utf-8"), task_file.suffix.lower())
        added, updated = _task_store(ctx).import_rows(
            rows, lambda cid: store.clause(cid) is not None, counted_from=counted_from
        )
    except UnicodeDecodeError:
        raise click.ClickException(f"{task_file}: not UTF-8; save it as UTF-8 and import again") from None
    except BadRows as exc:
        _refuse_file(task_file, exc.problems)
    click.echo(f"imported: {added} added, {updated} updated")


@tasks.command(name="draft")
@click.argument("doc_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the draft here (else print it).")
@click.pass_context
def tasks_draft(ctx: click.Context, doc_id: str, out: Path | None) -> None:
    """Draft a task file from a document's dated and recurring obligations, for review, then import.

    One task per obligation and unit group, `can_cu` filled. A recurring duty whose text names no day
    gets the day of config.yaml `task_drafts`, marked `# ASSUMED` beside `han`; reminders of such a
    task say the day was assumed. `cchc tasks import` takes the file as it is.

    \b
    Example:
        cchc tasks draft chi-thi-cchc-thi-xa --out nhiem-vu.yaml
        cchc tasks import nhiem-vu.yaml
    """
    from office.drafts import draft, draft_start, render

    settings, register = _settings(ctx), _register(ctx)
    document = register.store.document(doc_id)
    if document is None:
        raise click.ClickException(f"no document {doc_id} (see `cchc docs`)")
    found = register.obligations(doc_id=doc_id)
    start = draft_start(document.issued, found, _today(ctx))
    drafted = draft(found, register.directory, settings.task_drafts, start)
    text = render(drafted, document.title, doc_id)
    if out is None:
        click.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    assumed = sum(t.assumed for t in drafted)
    click.echo(f"drafted: {len(drafted)} task(s) into {out} ({assumed} with an assumed day, marked # ASSUMED)")


@tasks.command(name="export")
@click.option("--format", "fmt", type=click.Choice(["csv", "yaml"]), default="csv")
@click.pass_context
def tasks_export(ctx: click.Context, fmt: str) -> None:
    """Print the task table in the import format (CSV or YAML).

    \b
    Example:
        cchc tasks export > nhiem-vu.csv
    """
    import csv
    import io

    import yaml

    from office.tasks import FIELDS, OPTIONAL_FIELDS, export_rows

    rows = export_rows(_task_store(ctx).tasks())
    if fmt == "yaml":
        click.echo(yaml.safe_dump({"tasks": rows}, allow_unicode=True, sort_keys=False), nl=False)
        return
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS + OPTIONAL_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    click.echo(out.getvalue(), nl=False)


@tasks.command(name="list")
@click.option("--unit", help="Only this unit (name or code).")
@click.option("--status", type=click.Choice(["open", "done", "overdue"]), help="Only occurrences in this state.")
@click.option("--from", "start", help="From this day (YYYY-MM-DD or DD/MM/YYYY); default today.")
@click.option("--to", "end", help="Until this day; default 90 days on.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per task occurrence and unit.")
@click.pass_context
def tasks_list(
    ctx: click.Context, unit: str | None, status: str | None, start: str | None, end: str | None, as_json: bool
) -> None:
    """List task occurrences by deadline, per owner unit, with their state.

    \b
    Example:
        cchc tasks list --unit TP --status open --json
    """
    from datetime import timedelta

    from office.tasks import parse_day

    settings, store = _settings(ctx), _task_store(ctx)
    chosen = settings.unit(unit) if unit else None
    if unit and chosen is None:
        raise click.UsageError(f"--unit {unit} is not a unit name or code in config.yaml")
    try:
        first = parse_day(start) if start else store.today()
        last = parse_day(end) if end else first + timedelta(days=90)
    except ValueError as exc:
        raise click.UsageError(f"dates are YYYY-MM-DD or DD/MM/YYYY ({exc})") from None
    for item in store.occurrences(first, last, store.today(), chosen.code if chosen else None):
        if status and item.state != status:
            continue
        task = item.task
        row = {
            "task": task.code,
            "title": task.title,
            "deadline": item.deadline.isoformat(),
            "unit": item.unit_code,
            "status": item.state,
            "clauses": task.clauses,
        }
        click.echo(
            json.dumps(row, ensure_ascii=False)
            if as_json
            else f"{item.deadline:%d/%m/%Y}  {item.unit_code:<6} {item.state:<8} {task.code}  {task.title}"
        )


@tasks.command(name="done")
@click.argument("code")
@click.option("--unit", required=True, help="The unit that finished it (name or code).")
@click.option("--deadline", help="Which occurrence (its deadline); default the earliest one not done.")
@click.pass_context
def tasks_done(ctx: click.Context, code: str, unit: str, deadline: str | None) -> None:
    """Mark a task occurrence done for a unit (stops its reminders).

    \b
    Example:
        cchc tasks done BAO-CAO-QUY --unit TP --deadline 2026-12-15
    """
    from datetime import timedelta

    from office.tasks import parse_day

    settings, store = _settings(ctx), _task_store(ctx)
    task, chosen = store.task(code), settings.unit(unit)
    if task is None or chosen is None or chosen.code not in store.owner_units(task):
        raise click.ClickException(f"no task {code} owed by unit {unit} (see `cchc tasks list`)")
    if deadline:
        occurrence = parse_day(deadline)
    else:
        today = store.today()
        pending = [
            o.deadline
            for o in store.occurrences(today - timedelta(days=366), today + timedelta(days=366), today, chosen.code)
            if o.task.code == code and o.state != "done"
        ]
        if not pending:
            raise click.ClickException(f"{code}: nothing left to mark done for {chosen.code}")
        occurrence = pending[0]
    if occurrence not in task.occurrences(occurrence, occurrence):
        raise click.ClickException(f"{code} has no deadline on {occurrence:%d/%m/%Y}")
    store.mark_done(code, occurrence, chosen.code, by=0)
    click.echo(f"done: {code} {occurrence:%d/%m/%Y} {chosen.code}")


@cli.command()
@click.option("--dry-run", is_flag=True, required=True, help="Print what would be sent (required: `cchc serve` sends).")
@click.option("--at", "at", required=True, help='Local moment, e.g. "2026-12-01 08:00".')
@click.option("--json", "as_json", is_flag=True, help="One JSON object per reminder.")
@click.pass_context
def remind(ctx: click.Context, dry_run: bool, at: str, as_json: bool) -> None:
    """Show the reminders due at a moment (the running bot sends them at reminders.send_at).

    \b
    Example:
        cchc remind --dry-run --at "2026-12-01 08:00" --json
    """
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from base.database import open_database
    from office.reminders import due
    from office.users import UserStore

    settings = _settings(ctx)
    try:
        moment = datetime.fromisoformat(at).replace(tzinfo=ZoneInfo(settings.reminders.timezone))
    except ValueError:
        raise click.UsageError(f'--at "{at}" is not a moment like "2026-12-01 08:00"') from None
    users = UserStore(open_database(settings.database_path))
    for r in due(_task_store(ctx), users, moment, settings.reminders):
        kind = {"snooze": "snoozed"}.get(r.kind, r.kind)
        row = {
            "task": r.task_code,
            "deadline": r.occurrence.isoformat(),
            "lead": r.lead,
            "kind": kind,
            "unit": r.unit_code,
            "telegram_id": r.telegram_id,
            "chat_id": r.chat_id,
        }
        line = f"{r.unit_code:<6} chat {r.chat_id}  {r.task_code}  deadline {r.occurrence:%d/%m/%Y}  ({kind})"
        click.echo(json.dumps(row, ensure_ascii=False) if as_json else line)


@cli.group()
def broadcast() -> None:
    """Announcements from phòng Nội vụ, queued here and delivered by the running `cchc serve`.

    \b
    Example:
        cchc broadcast send --to TP,XAP --text thong-bao.txt --ack --wait
        cchc broadcast status 3 --json
    """


def _outbox(ctx: click.Context) -> Outbox:
    from base.database import open_database
    from office.broadcasts import Outbox

    return Outbox(open_database(_settings(ctx).database_path), _settings(ctx))


@broadcast.command(name="send")
@click.option("--to", "to", required=True, help="Unit codes or names separated by commas, a group, or 'all'.")
@click.option(
    "--text",
    "text_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="UTF-8 file with the announcement, sent as plain text (<, > and & shown as they are).",
)
@click.option("--html", "as_html", is_flag=True, help="The text is Telegram HTML (<b>, <i>, <a href>…), checked now.")
@click.option(
    "--attach",
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
    help="A document (up to 50 MB) or photo (.jpg/.png, up to 10 MB).",
)
@click.option("--ack", is_flag=True, help="Ask recipients to press 'Đã nhận'.")
@click.option(
    "--wait",
    "wait_seconds",
    type=int,
    default=None,
    is_flag=False,
    flag_value=3600,
    help="Wait (up to N seconds, default 3600) until delivered, then print the report.",
)
@click.pass_context
def broadcast_send(
    ctx: click.Context,
    to: str,
    text_file: Path,
    as_html: bool,
    attach: Path | None,
    ack: bool,
    wait_seconds: int | None,
) -> None:
    """Queue an announcement for the running bot to deliver.

    The text is checked now (with --html, as Telegram will parse it) and so is the attachment, so nothing
    is queued that Telegram would refuse for every recipient. A text longer than one message is sent in
    several, cut at line or sentence ends.

    \b
    Example:
        cchc broadcast send --to all --text thong-bao.txt --attach ke-hoach.pdf --ack
    """
    import time

    from base.database import open_database
    from bot.telegram_html import html_problem, plain
    from office.broadcasts import Audience
    from office.users import UserStore

    settings = _settings(ctx)
    targets = [t.strip() for t in to.split(",") if t.strip()]
    if bad := [t for t in targets if settings.unit_codes(t) is None]:
        raise click.UsageError(f"--to {', '.join(bad)}: not a unit code or name, nor all/phong-ban/xa-phuong")
    try:
        text = text_file.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        raise click.UsageError(f"{text_file} is not UTF-8 text") from None
    if not text:
        raise click.UsageError(f"{text_file} is empty")
    if not as_html:
        text = plain(text)
    elif problem := html_problem(text):
        raise click.UsageError(f"{text_file}: {problem} (or send it as plain text, without --html)")
    kind = ""
    if attach:
        kind = attachment_kind(attach)
        folder = settings.data_dir / "attachments" / f"cli-{time.time_ns()}"
        folder.mkdir(parents=True, exist_ok=True)
        stored = folder / attach.name
        stored.write_bytes(attach.read_bytes())
        attach = stored
    audience = Audience(units=[unit.code if (unit := settings.unit(t)) else t for t in targets])
    users, box = UserStore(open_database(settings.database_path)), _outbox(ctx)
    recipients = box.recipients(users, audience)
    broadcast_id = box.create(0, text, recipients, audience, ack, str(attach or ""), kind)
    users.audit(0, "broadcast", str(broadcast_id), f"cli: {len(recipients)} recipients: {audience.describe(settings)}")
    click.echo(f"queued: broadcast {broadcast_id} to {len(recipients)} recipient(s)")
    if wait_seconds is None:
        return
    deadline = time.monotonic() + wait_seconds
    while (report := box.report(broadcast_id)) and report.pending and time.monotonic() < deadline:
        time.sleep(0.5)
    if report is None:
        raise click.ClickException(f"broadcast {broadcast_id} is gone")
    click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    if report.pending:
        raise click.ClickException("still pending: is `cchc serve` running?")


ATTACHMENT_LIMITS = {"photo": 10 * 2**20, "document": 50 * 2**20}  # what a bot may upload to Telegram


def attachment_kind(path: Path) -> str:
    """photo or document, once the file is known to be one Telegram will take; else a usage error."""
    kind = "photo" if path.suffix.lower() in {".jpg", ".jpeg", ".png"} else "document"
    size = path.stat().st_size
    if size == 0:
        raise click.UsageError(f"--attach {path}: the file is empty")
    if size > ATTACHMENT_LIMITS[kind]:
        limit = ATTACHMENT_LIMITS[kind] // 2**20
        raise click.UsageError(f"--attach {path}: {size / 2**20:.1f} MB; Telegram takes a {kind} of at most {limit} MB")
    return kind


@broadcast.command(name="status")
@click.argument("broadcast_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def broadcast_status(ctx: click.Context, broadcast_id: int, as_json: bool) -> None:
    """Delivered / pending / failed / blocked / acknowledged counts of an announcement.

    \b
    Example:
        cchc broadcast status 3 --json
    """
    report = _outbox(ctx).report(broadcast_id)
    if report is None:
        raise click.ClickException(f"no broadcast {broadcast_id}")
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    for key, value in report.as_dict().items():
        click.echo(f"{key}: {value}")


def main() -> None:
    cli(prog_name="cchc")
