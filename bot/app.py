"""build_application(settings): every handler, the rate limiter and the services, wired in one place."""

from __future__ import annotations

import itertools
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from base.database import DatabaseThread, DatabaseUnavailable, check_writable, database_file, open_database
from base.serving import SearchServerUnavailable, ServingLock
from base.settings import Settings
from bot import admin, broadcast, duties, handlers, registration, reminders
from bot.menus import publish_menus
from bot.quota import QuestionQuota
from bot.ratelimit import InteractiveFirstRateLimiter
from bot.services import KEY as SERVICES
from bot.services import Services, Stores, services
from bot.updates import InOrderPerSender
from knowledge.index import ClauseIndex
from knowledge.register import ObligationRegister
from office.broadcasts import Outbox
from office.tasks import TaskStore
from office.users import UserStore

log = logging.getLogger(__name__)
SERVE_LOCK = "serve.lock"
CONCURRENT_UPDATES = 64  # updates handled at once (questions of different officials run side by side)
FOLLOW_SECONDS = 2  # how often the bot looks for an ingest made by another process
os.environ.setdefault("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as a timedelta (PTB's coming default)
SECRET_MISSING = (
    "TELEGRAM_WEBHOOK_SECRET is not set: webhook mode needs a secret token (1-256 characters A-Z a-z 0-9 _ -), "
    "e.g. export TELEGRAM_WEBHOOK_SECRET=$(openssl rand -hex 32)"
)
TOKEN_MISSING = (
    "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather, then run: "
    "export TELEGRAM_BOT_TOKEN='123456:ABC...' && cchc serve"
)
NON_TEXT = (
    filters.Sticker.ALL
    | filters.PHOTO
    | filters.VOICE
    | filters.AUDIO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.Document.ALL
    | filters.LOCATION
    | filters.ANIMATION
)


def utc_now() -> datetime:
    """The bot's clock (tests pass their own)."""
    return datetime.now(UTC)


def api_base_url(settings: Settings) -> str:
    """TELEGRAM_API_BASE_URL, else telegram.api_base_url, else Telegram's own servers ('')."""
    return os.environ.get("TELEGRAM_API_BASE_URL") or settings.telegram.api_base_url


def registration_conversation() -> ConversationHandler:
    """/start: name, unit, position. Typed answers count as much as buttons; a command mid-way (/start
    included) asks the current step again, /huy cancels, so nobody is told "not approved" while registering."""
    typed = filters.TEXT & ~filters.COMMAND
    with warnings.catch_warnings():  # per_message=False is intended: the flow is per user and chat
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=[CommandHandler("start", registration.start, filters.ChatType.PRIVATE)],
            states={
                registration.NAME: [MessageHandler(typed, registration.got_name)],
                registration.UNIT: [MessageHandler(typed, registration.unit_typed)],
                registration.POSITION: [MessageHandler(typed, registration.position_typed)],
            },
            fallbacks=[
                CommandHandler(["huy", "cancel"], registration.cancel),
                MessageHandler(filters.COMMAND, registration.resume),
                MessageHandler(filters.CONTACT, registration.got_contact),
                CallbackQueryHandler(registration.got_unit, pattern=r"^unit:"),
                CallbackQueryHandler(registration.got_position, pattern=r"^pos:"),
            ],
        )


def broadcast_conversation() -> ConversationHandler:
    admin_text = filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=[CommandHandler(["thongbao", "announce"], broadcast.begin)],  # refused in groups
            states={
                broadcast.TEXT: [MessageHandler(admin_text, broadcast.got_text)],
                broadcast.ATTACH: [
                    MessageHandler(filters.Document.ALL | filters.PHOTO, broadcast.got_attachment),
                    CallbackQueryHandler(broadcast.skip_attachment, pattern=r"^bc:noattach$"),
                ],
                broadcast.AUDIENCE: [CallbackQueryHandler(broadcast.chose_audience, pattern=r"^bc:aud:")],
                broadcast.UNITS: [CallbackQueryHandler(broadcast.toggle_unit, pattern=r"^bc:unit:")],
                broadcast.POSITIONS: [CallbackQueryHandler(broadcast.toggle_position, pattern=r"^bc:pos:")],
                broadcast.ACK: [CallbackQueryHandler(broadcast.chose_ack, pattern=r"^bc:ack:")],
                broadcast.CONFIRM: [CallbackQueryHandler(broadcast.confirm, pattern=r"^bc:(send|cancel)$")],
            },
            fallbacks=[CommandHandler(["huy", "cancel"], broadcast.cancel)],
        )


def add_handlers(application: Application) -> None:
    """All handlers in one list; the registration conversation goes first so it sees the name typed.
    An edited message is dropped before any of them (group -1): it was answered, or run, when first sent."""
    application.add_handler(MessageHandler(filters.UpdateType.EDITED, handlers.ignore_edit), group=-1)
    application.add_handlers(
        [
            registration_conversation(),
            broadcast_conversation(),
            CallbackQueryHandler(registration.decide, pattern=r"^reg:"),
            CommandHandler(["baocao", "report"], broadcast.report_command),
            CallbackQueryHandler(broadcast.ack_button, pattern=r"^ack:"),
            CallbackQueryHandler(broadcast.report_button, pattern=r"^bcr:"),
            CallbackQueryHandler(broadcast.nudge_button, pattern=r"^bcn:"),
            CommandHandler(["hoi", "ask"], handlers.ask_command),
            CommandHandler(["nguon", "sources"], handlers.sources),
            CommandHandler(["huongdan", "help"], handlers.help_command),
            CommandHandler(["nguoidung", "users"], admin.list_users),
            CallbackQueryHandler(admin.users_page_button, pattern=r"^users:"),
            CommandHandler(["chuyen", "move"], admin.move_user),
            CommandHandler(["khoa", "deactivate"], admin.deactivate_user),
            CommandHandler(["mokhoa", "activate"], admin.reactivate_user),
            CommandHandler(["phanhoi", "feedback"], admin.export_feedback),
            CommandHandler(["viec", "duties"], duties.duties_command),
            CallbackQueryHandler(duties.page_button, pattern=r"^viec:"),
            CallbackQueryHandler(duties.full_text_button, pattern=r"^vfull:"),
            CommandHandler(["nhiemvu", "tasks"], reminders.my_tasks),
            CommandHandler(["han", "deadlines"], reminders.deadlines),
            CommandHandler(["tiendo", "progress"], reminders.progress_report),
            CallbackQueryHandler(reminders.done_button, pattern=r"^done:"),
            CallbackQueryHandler(reminders.snooze_button, pattern=r"^snz:"),
            CallbackQueryHandler(reminders.task_full_text_button, pattern=r"^tfull:"),
            CallbackQueryHandler(handlers.full_text_button, pattern=r"^full:"),
            CallbackQueryHandler(handlers.related_button, pattern=r"^rel:"),
            CallbackQueryHandler(handlers.suggestion_button, pattern=r"^sug:"),
            CallbackQueryHandler(handlers.vote_button, pattern=r"^vote:"),
            CallbackQueryHandler(handlers.noop_button, pattern=r"^noop$"),
            MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, handlers.ask_private),
            MessageHandler(filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND, handlers.ask_group),
            MessageHandler(NON_TEXT, handlers.non_text),
            MessageHandler(filters.ChatType.PRIVATE & filters.COMMAND, handlers.unknown_command),  # last
        ]
    )
    application.add_error_handler(handlers.on_error)


def open_services(
    settings: Settings,
    clock: Callable[[], datetime],
    index: ClauseIndex | None = None,
    users: UserStore | None = None,
    tasks: TaskStore | None = None,
    outbox: Outbox | None = None,
) -> Services:
    """The bot's services: those given (tests inject them), the others opened on the same database (the data
    directory's unless given stores say otherwise); the database thread opens its own connection to it."""
    given = [store.db for store in (users, tasks, outbox) if store is not None]
    path = database_file(given[0]) if given else settings.database_path
    if any(database_file(db) != path for db in given):
        raise ValueError("the bot's users, tasks and outbox must be stores of one database")
    opened = [] if users and tasks and outbox else [open_database(path)]
    users = users or UserStore(opened[0])
    limit = settings.telegram.rate_limit
    index = index or ClauseIndex(settings)
    serving = ServingLock(settings.data_dir)
    serving.acquire()
    return Services(
        settings=settings,
        index=index,
        register=ObligationRegister.of(index.store, settings),
        users=users,
        tasks=tasks or TaskStore(opened[0], settings),
        outbox=outbox or Outbox(opened[0], settings),
        clock=clock,
        questions=QuestionQuota(limit.questions, limit.per_seconds),
        refusals=QuestionQuota(1, limit.per_seconds),
        database=DatabaseThread(path, lambda db: Stores.on(db, settings)),
        answer_ids=itertools.count(users.next_answer_id()),
        opened=opened,
        serving=serving,
    )


async def follow_ingests(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Notice an ingest made by another process: its state loads in the background, then answers use it."""
    services(context).index.refresh(wait=False)


def build_application(
    settings: Settings,
    token: str,
    index: ClauseIndex | None = None,
    users: UserStore | None = None,
    tasks: TaskStore | None = None,
    clock: Callable[[], datetime] = utc_now,
    outbox: Outbox | None = None,
) -> Application:
    """The bot for these settings; services may be injected (tests), else opened at start."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry the request URL, token included

    async def post_init(application: Application) -> None:
        found = open_services(settings, clock, index, users, tasks, outbox)
        application.bot_data[SERVICES] = found
        try:
            found.index.search("khởi động", k=1)  # load the model and the lexical index before the first question
        except SearchServerUnavailable as exc:
            log.error("%s; questions get an apology until it answers", exc)
        found.register.sync(found.today())  # units of config.yaml or the wording in force may have changed
        await publish_menus(application)
        reminders.schedule(application)
        if application.job_queue is not None:
            application.job_queue.run_repeating(follow_ingests, interval=FOLLOW_SECONDS, name="follow-ingests")
        broadcast.start_sender(application)
        log.info("bot @%s ready", application.bot.username)

    async def post_stop(application: Application) -> None:
        await broadcast.stop_sender(application)

    async def post_shutdown(application: Application) -> None:
        if SERVICES in application.bot_data:
            application.bot_data.pop(SERVICES).close()

    builder = (
        ApplicationBuilder()
        .token(token)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .concurrent_updates(InOrderPerSender(CONCURRENT_UPDATES))
        .rate_limiter(
            InteractiveFirstRateLimiter(settings.telegram.messages_per_second, settings.telegram.send_retries)
        )
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    if base_url := api_base_url(settings):
        builder = builder.base_url(base_url).base_file_url(base_url.replace("/bot", "/file/bot", 1))
    application = builder.build()
    add_handlers(application)
    return application


class ServeError(Exception):
    """The bot cannot start: a missing token or secret, a data directory it cannot use or another bot on
    it, a database it cannot write; the message says what to do."""


@contextmanager
def serving(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's serve lock while the bot runs: a second `cchc serve` on the same data
    directory is refused, so two bots never send the same announcements. The operating system lets the
    lock go when the process ends, however it ends."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / f".write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise ServeError(f"data directory {data_dir} is not writable ({exc.strerror or exc})") from None
    lock = FileLock(data_dir / SERVE_LOCK, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ServeError(
            f"another `cchc serve` is already running on data directory {data_dir}; stop it first "
            f"(it holds {data_dir / SERVE_LOCK})"
        ) from None
    try:
        yield
    finally:
        lock.release()


def serve(settings: Settings, token: str | None) -> None:
    """Run the bot until interrupted: long polling, or a webhook server when configured."""
    if not token:
        raise ServeError(TOKEN_MISSING)
    secret = os.environ.get("TELEGRAM_WEBHOOK_SECRET", "")
    if settings.telegram.mode == "webhook" and not secret:
        raise ServeError(SECRET_MISSING)
    # One core per question: questions are embedded side by side in the retrieval pool, instead of each
    # spread over every core by OpenMP (whose threads spin against each other when questions overlap).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with serving(settings.data_dir):
        try:
            check_writable(settings.database_path)
        except DatabaseUnavailable as exc:
            raise ServeError(str(exc)) from None
        run_until_interrupted(build_application(settings, token), settings, secret)


def run_until_interrupted(application: Application, settings: Settings, secret: str) -> None:
    """Long polling, or the webhook server, until interrupted."""
    if settings.telegram.mode == "webhook":
        webhook = settings.telegram.webhook
        application.run_webhook(
            listen=webhook.listen,
            port=webhook.port,
            url_path=webhook.url_path,
            secret_token=secret,
            webhook_url=webhook.public_url or None,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
