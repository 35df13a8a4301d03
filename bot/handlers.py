"""Thin handlers for officials' questions: check access, call `knowledge`, render, reply."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, MessageEntityType
from telegram.ext import ApplicationHandlerStop, ContextTypes

from base.serving import SearchServerUnavailable
from bot import duties, render
from bot.access import (
    approved_or_refused,
    button_data,
    button_numbers,
    callback_of,
    chat_id,
    is_number,
    message_of,
    reply,
    sender_id,
    vote_row,
)
from bot.sending import send_all, show_typing
from bot.services import Stores, services
from knowledge.answer import full_text
from knowledge.duties import answer_for
from knowledge.labels import shorten
from knowledge.records import Answer, Citation

log = logging.getLogger(__name__)

NON_TEXT = "Trợ lý chỉ đọc được câu hỏi bằng chữ. Xin gõ câu hỏi, ví dụ: <i>Báo cáo kiểm điểm gửi về đâu?</i>"
TOO_MANY = "Bạn hỏi hơi nhanh. Xin chờ khoảng {seconds} giây rồi hỏi tiếp."
EMPTY = "Xin gõ câu hỏi sau lệnh, ví dụ: <code>/hoi hạn nộp báo cáo kiểm điểm</code>"
FAILED = "Xin lỗi, đã có lỗi khi xử lý yêu cầu. Vui lòng thử lại sau."
SEARCH_DOWN = "Xin lỗi, phần tra cứu văn bản tạm thời không hoạt động. Vui lòng thử lại sau ít phút."


def answer_keyboard(answer_id: int, answer: Answer) -> InlineKeyboardMarkup:
    """Buttons under a reply: whole text and related clauses of an answer, one per suggested clause,
    and the votes."""
    votes = vote_row(answer_id)
    if not answer.answered:
        offered = [
            [InlineKeyboardButton(f"💡 {i}. {shorten(c.label, 56)}", callback_data=f"sug:{answer_id}:{i}")]
            for i, c in enumerate(answer.suggestions, 1)
        ]
        return InlineKeyboardMarkup([*offered, votes])
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
    official = await approved_or_refused(update, context)
    if official is None:
        return
    found = services(context)
    settings = found.settings
    question = question.strip()
    if not question:
        await reply(update, context, EMPTY)
        return
    wait = found.questions.wait_seconds(sender_id(update))
    if wait:
        await reply(update, context, TOO_MANY.format(seconds=wait))
        return
    if not await show_typing(context.bot, found, chat_id(update)):
        return
    asker, unit, today = sender_id(update), official.unit_code, found.today()
    answered = await found.on_index(lambda index: answer_for(index, found.register, question, unit, today))
    result, answer_id = answered.answer, next(found.answer_ids)
    shown = result.citations or result.suggestions  # what the buttons and the feedback refer to
    if answered.duties is not None and answered.asked is not None:
        await duties.send_duties(update, context, f"q:{answer_id}", answered.duties, answered.asked.soon)
    else:
        await send_all(
            context.bot,
            found,
            chat_id(update),
            render.answer_messages(result),
            retries=settings.telegram.send_retries,
            reply_markup=answer_keyboard(answer_id, result),
        )
    # recorded behind the reply: a database busy with an import delays neither this reply nor the asker's
    # next question; the buttons read the answer on the database thread, after this write
    found.write_behind(
        lambda s: s.users.record_answer(asker, question, result.answered, shown, answer_id),
        f"answer {answer_id} to {asker}",
    )


async def ask_private(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question."""
    await respond(update, context, message_of(update).text or "")


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
    message = message_of(update)
    question = addressed_to_bot(message, context.bot.username, context.bot.id)
    if question is not None:
        await respond(update, context, question)


async def ignore_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited message is neither answered again nor run again as a command."""
    raise ApplicationHandlerStop


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice, files: a short explanation instead of an error."""
    if update.effective_chat and update.effective_chat.type == ChatType.PRIVATE:
        await reply(update, context, NON_TEXT)


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/nguon: the loaded documents."""
    if not await approved_or_refused(update, context):
        return
    index = services(context).index
    counts = {row["doc_id"]: row["clause_count"] for row in index.store.document_rows()}
    await reply(update, context, render.documents_message(index.store.documents(), counts))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command the bot does not know: say so and show the help."""
    await reply(update, context, "Trợ lý không có lệnh này.\n\n" + render.HELP)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/huongdan: how to use the assistant."""
    await reply(update, context, render.HELP)


# ------------------------------------------------------------------------------------------ buttons


async def _pressed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, count: int
) -> tuple[list[int], tuple[str, list[Citation]]] | None:
    """The `count` numbers an answer's button carries (the answer's id first) and the stored answer, for an
    approved official; None when the presser may not use the bot (told so), the button is malformed (the
    press is acknowledged) or the answer gone (the official is told)."""
    if not await approved_or_refused(update, context):
        return None
    numbers = button_numbers(update, count)
    if numbers is None:
        await callback_of(update).answer()
        return None
    record = await services(context).on_db(lambda s: s.users.answer_record(numbers[0]))
    if record is None or not record[1]:
        await callback_of(update).answer("Câu trả lời này không còn.", show_alert=True)
        return None
    return numbers, record


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
    query = callback_of(update)
    pressed = await _pressed(update, context, 2)
    if pressed is None:
        return
    (answer_id, page), record = pressed
    best = record[1][0]
    found = await services(context).on_index(lambda index: full_text(index, best.doc_id, best.loc))
    if found is None:
        await query.answer("Văn bản này không còn trong kho.", show_alert=True)
        return
    texts = render.pages(*found)
    page = min(max(page, 1), len(texts))
    await query.answer()
    keyboard = page_keyboard(answer_id, page, len(texts))
    if button_data(update).endswith(":edit"):
        await query.edit_message_text(texts[page - 1], reply_markup=keyboard)
    else:
        await reply(update, context, texts[page - 1], reply_markup=keyboard)


async def related_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Điều khoản liên quan": the next citations quoted in full."""
    query = callback_of(update)
    pressed = await _pressed(update, context, 1)
    if pressed is None:
        return
    _, record = pressed
    await query.answer()
    found = services(context)
    settings = found.settings
    related = record[1][1:]
    messages = render.citations_messages(related) if related else ["Không có điều khoản liên quan khác."]
    await send_all(context.bot, found, chat_id(update), messages, retries=settings.telegram.send_retries)


async def suggestion_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A suggested clause's button: that clause quoted in full, marked as a suggestion (not the answer)."""
    query = callback_of(update)
    pressed = await _pressed(update, context, 2)
    if pressed is None:
        return
    (_, number), record = pressed
    if not 1 <= number <= len(record[1]):
        await query.answer("Gợi ý này không còn.", show_alert=True)
        return
    await query.answer()
    found = services(context)
    messages = render.suggestion_messages(record[1][number - 1], number)
    await send_all(context.bot, found, chat_id(update), messages, retries=found.settings.telegram.send_retries)


async def vote_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """👍/👎: stored with the question and the citations shown."""
    query = callback_of(update)
    if not await approved_or_refused(update, context):
        return
    fields = button_data(update).split(":")  # vote:<answer id>:1 or :-1
    if len(fields) != 3 or not is_number(fields[1]) or fields[2] not in ("1", "-1"):
        await query.answer()
        return
    answer_id, voter, vote = int(fields[1]), sender_id(update), int(fields[2])
    if not await services(context).on_db(lambda s: vote_on(s, answer_id, voter, vote)):
        await query.answer("Câu trả lời này không còn.")
        return
    await query.answer("Cảm ơn góp ý của bạn!")


def vote_on(stores: Stores, answer_id: int, voter: int, vote: int) -> bool:
    """Work for the database thread: record a vote on an answer; False when the answer is gone."""
    if stores.users.answer_record(answer_id) is None:
        return False
    stores.users.record_vote(answer_id, voter, vote)
    return True


async def noop_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await callback_of(update).answer()


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one error handler: log with the traceback (a search server that does not answer: its message),
    then apologise if there is someone to tell."""
    down = isinstance(context.error, SearchServerUnavailable)
    if down:
        log.error("could not answer: %s", context.error)
    else:
        log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        try:
            await context.bot.send_message(chat_id(update), SEARCH_DOWN if down else FAILED)
        except Exception:  # noqa: BLE001 - the apology itself failed; already logged above
            log.warning("could not tell chat %s about the error", chat_id(update))
