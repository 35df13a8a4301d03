"""Thin handlers for officials' questions: check access, call `knowledge`, render, reply."""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, MessageEntityType
from telegram.ext import ContextTypes

from bot import render
from bot.sending import send_all, send_html, show_typing
from knowledge.answer import answer, full_text
from knowledge.config import Settings
from knowledge.index import ClauseIndex
from knowledge.users import UserStore

log = logging.getLogger(__name__)

HELP = (
    "<b>Trợ lý CCHC</b> trả lời câu hỏi về các chỉ thị, nghị định đã nạp và dẫn đúng điều khoản.\n\n"
    "• Gõ câu hỏi (có dấu hay không dấu đều được), ví dụ: <i>Hạn chót gửi báo cáo kiểm điểm là ngày nào?</i>\n"
    "• Trong nhóm: <code>/hoi câu hỏi</code>, nhắc tên trợ lý, hoặc trả lời tin nhắn của trợ lý.\n"
    "• Nút <b>Toàn văn</b>: xem cả điều, khoản; <b>Điều khoản liên quan</b>: các quy định gần nhất; 👍/👎: "
    "góp ý cho câu trả lời.\n"
    "• /nguon: danh sách văn bản đã nạp. /start: đăng ký sử dụng."
)
NOT_APPROVED = "Bạn chưa được duyệt sử dụng trợ lý. Gõ /start trong tin nhắn riêng với trợ lý để đăng ký."
PENDING = "Yêu cầu đăng ký của bạn đang chờ duyệt. Trợ lý sẽ báo khi phòng Nội vụ duyệt xong."
NON_TEXT = "Trợ lý chỉ đọc được câu hỏi bằng chữ. Xin gõ câu hỏi, ví dụ: <i>Báo cáo kiểm điểm gửi về đâu?</i>"
TOO_MANY = "Bạn hỏi hơi nhanh. Xin chờ khoảng {seconds} giây rồi hỏi tiếp."
EMPTY = "Xin gõ câu hỏi sau lệnh, ví dụ: <code>/hoi hạn nộp báo cáo kiểm điểm</code>"
FAILED = "Xin lỗi, đã có lỗi khi xử lý yêu cầu. Vui lòng thử lại sau."
RELATED_SHOWN = 3


class RateLimiter:
    """At most `limit` questions per user within `window` seconds (sliding window, in memory)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._asked: dict[int, deque[float]] = defaultdict(deque)

    def wait_seconds(self, user_id: int, now: float | None = None) -> int:
        """0 if the user may ask now (and the question is counted), else the seconds to wait."""
        now = time.monotonic() if now is None else now
        asked = self._asked[user_id]
        while asked and now - asked[0] >= self.window:
            asked.popleft()
        if len(asked) >= self.limit:
            return int(self.window - (now - asked[0])) + 1
        asked.append(now)
        return 0


def services(context: ContextTypes.DEFAULT_TYPE) -> tuple[Settings, ClauseIndex, UserStore]:
    data = context.bot_data
    return data["settings"], data["index"], data["users"]


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, **kwargs) -> Message | None:
    """Answer in the chat the update came from, through the one sending path."""
    settings, _, users = services(context)
    chat_id = update.effective_chat.id  # type: ignore[union-attr]
    return await send_html(context.bot, users, chat_id, text, retries=settings.telegram.send_retries, **kwargs)


async def approved_or_refused(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True for an approved official; anyone else is told why not and gets nothing more."""
    _, _, users = services(context)
    user = users.by_telegram(update.effective_user.id)  # type: ignore[union-attr]
    if user is not None and user.status == "approved":
        if user.blocked and update.effective_chat and update.effective_chat.type == ChatType.PRIVATE:
            users.mark_reachable(user.telegram_id)  # type: ignore[arg-type]
        return True
    if update.callback_query:
        await update.callback_query.answer(NOT_APPROVED, show_alert=True)
    else:
        await reply(update, context, PENDING if user is not None and user.status == "pending" else NOT_APPROVED)
    return False


def answer_keyboard(answer_id: int, answered: bool) -> InlineKeyboardMarkup:
    votes = [
        InlineKeyboardButton("👍", callback_data=f"vote:{answer_id}:1"),
        InlineKeyboardButton("👎", callback_data=f"vote:{answer_id}:-1"),
    ]
    if not answered:
        return InlineKeyboardMarkup([votes])
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("📄 Toàn văn", callback_data=f"full:{answer_id}:1:new"),
                InlineKeyboardButton("📚 Điều khoản liên quan", callback_data=f"rel:{answer_id}"),
            ],
            votes,
        ]
    )


async def respond(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    """Answer one question for an approved official: typing, knowledge, HTML, buttons."""
    if not await approved_or_refused(update, context):
        return
    settings, index, users = services(context)
    question = question.strip()
    if not question:
        await reply(update, context, EMPTY)
        return
    wait = context.bot_data["limiter"].wait_seconds(update.effective_user.id)  # type: ignore[union-attr]
    if wait:
        await reply(update, context, TOO_MANY.format(seconds=wait))
        return
    if not await show_typing(context.bot, users, update.effective_chat.id):  # type: ignore[union-attr]
        return
    result = answer(index, question, top_k=1 + RELATED_SHOWN + 3)
    answer_id = users.record_answer(update.effective_user.id, question, result.answered, result.citations)  # type: ignore[union-attr]
    messages = render.answer_messages(result, related=RELATED_SHOWN)
    await send_all(
        context.bot,
        users,
        update.effective_chat.id,
        messages,  # type: ignore[union-attr]
        retries=settings.telegram.send_retries,
        reply_markup=answer_keyboard(answer_id, result.answered),
    )


async def ask_private(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question."""
    await respond(update, context, update.effective_message.text or "")  # type: ignore[union-attr]


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/hoi <câu hỏi>: ask anywhere, groups included."""
    await respond(update, context, " ".join(context.args or []))


def addressed_to_bot(message: Message, username: str, bot_id: int) -> str | None:
    """In a group: the question when the bot is mentioned or replied to, else None."""
    text = message.text or ""
    if (
        message.reply_to_message
        and message.reply_to_message.from_user
        and message.reply_to_message.from_user.id == bot_id
    ):
        return text
    for entity, value in message.parse_entities([MessageEntityType.MENTION]).items():
        if value.lower() == f"@{username.lower()}":
            return (text[: entity.offset] + text[entity.offset + entity.length :]).strip()
    return None


async def ask_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a group the bot answers a mention or a reply to one of its messages; other talk is ignored."""
    message = update.effective_message
    question = addressed_to_bot(message, context.bot.username, context.bot.id)  # type: ignore[arg-type]
    if question is not None:
        await respond(update, context, question)


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice, files: a short explanation instead of an error."""
    if update.effective_chat and update.effective_chat.type == ChatType.PRIVATE:
        await reply(update, context, NON_TEXT)


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/nguon: the loaded documents."""
    if not await approved_or_refused(update, context):
        return
    _, index, _ = services(context)
    counts = {row["doc_id"]: row["clause_count"] for row in index.store.document_rows()}
    await reply(update, context, render.documents_message(index.store.documents(), counts))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command the bot does not know: say so and show the help."""
    await reply(update, context, "Trợ lý không có lệnh này.\n\n" + HELP)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/huongdan: how to use the assistant."""
    await reply(update, context, HELP)


# ------------------------------------------------------------------------------------------ buttons


async def _answer_or_gone(update: Update, context: ContextTypes.DEFAULT_TYPE, answer_id: int):
    _, _, users = services(context)
    record = users.answer_record(answer_id)
    if record is None or not record[1]:
        await update.callback_query.answer("Câu trả lời này không còn.", show_alert=True)  # type: ignore[union-attr]
        return None
    return record


def page_keyboard(answer_id: int, page: int, total: int) -> InlineKeyboardMarkup | None:
    if total <= 1:
        return None
    buttons = []
    if page > 1:
        buttons.append(InlineKeyboardButton("◀ Trước", callback_data=f"full:{answer_id}:{page - 1}:edit"))
    buttons.append(InlineKeyboardButton(f"{page}/{total}", callback_data="noop"))
    if page < total:
        buttons.append(InlineKeyboardButton("Sau ▶", callback_data=f"full:{answer_id}:{page + 1}:edit"))
    return InlineKeyboardMarkup([buttons])


async def full_text_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Toàn văn": the whole article or item of the best clause, in pages."""
    query = update.callback_query
    if not await approved_or_refused(update, context):
        return
    try:
        _, raw_id, raw_page, how = query.data.split(":")  # type: ignore[union-attr]
        answer_id, page = int(raw_id), int(raw_page)
    except ValueError:
        await query.answer()
        return
    record = await _answer_or_gone(update, context, answer_id)
    if record is None:
        return
    _, index, _ = services(context)
    best = record[1][0]
    found = full_text(index, best.doc_id, best.loc)
    if found is None:
        await query.answer("Văn bản này không còn trong kho.", show_alert=True)
        return
    texts = render.pages(*found)
    page = min(max(page, 1), len(texts))
    await query.answer()
    keyboard = page_keyboard(answer_id, page, len(texts))
    if how == "edit":
        await query.edit_message_text(texts[page - 1], parse_mode="HTML", reply_markup=keyboard)
    else:
        await reply(update, context, texts[page - 1], reply_markup=keyboard)


async def related_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Điều khoản liên quan": the next citations quoted in full."""
    query = update.callback_query
    if not await approved_or_refused(update, context):
        return
    record = await _answer_or_gone(update, context, int(query.data.split(":")[1]))  # type: ignore[union-attr]
    if record is None:
        return
    await query.answer()
    settings, _, users = services(context)
    related = record[1][1:]
    messages = render.citations_messages(related) if related else ["Không có điều khoản liên quan khác."]
    await send_all(context.bot, users, update.effective_chat.id, messages, retries=settings.telegram.send_retries)  # type: ignore[union-attr]


async def vote_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """👍/👎: stored with the question and the citations shown."""
    query = update.callback_query
    if not await approved_or_refused(update, context):
        return
    _, raw_id, raw_vote = query.data.split(":")  # type: ignore[union-attr]
    _, _, users = services(context)
    if users.answer_record(int(raw_id)) is None:
        await query.answer("Câu trả lời này không còn.")
        return
    users.record_vote(int(raw_id), update.effective_user.id, 1 if raw_vote == "1" else -1)  # type: ignore[union-attr]
    await query.answer("Cảm ơn góp ý của bạn!")


async def noop_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer()  # type: ignore[union-attr]


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one error handler: log with the traceback, then apologise if there is someone to tell."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        try:
            await context.bot.send_message(update.effective_chat.id, FAILED)
        except Exception:  # noqa: BLE001 - the apology itself failed; already logged above
            log.warning("could not tell chat %s about the error", update.effective_chat.id)
