"""/viec (alias /duties): a unit's duties from the obligation register, grouped, in pages, each with 📄 Toàn văn.

The same list answers a question about a unit's duties ("Đơn vị tôi phải làm gì?"). Buttons carry what was
asked, `u:<unit or group code>` for /viec and `q:<answer id>` for a question, so a page or a full text is
computed again from the register when pressed, and still works after a restart.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot import render
from bot.access import approved_or_refused, callback_of, chat_id, is_number, key_and_number, reply, vote_row
from bot.sending import send_all
from bot.services import Services, services
from knowledge.answer import full_text
from knowledge.duties import DutyList, DutyQuestion, duty_list, duty_question, unit_label
from knowledge.units import tokenize
from office.users import User

OTHER_UNIT = "Chỉ quản trị viên xem được việc của đơn vị khác. Gõ /viec để xem việc của đơn vị bạn."
UNKNOWN_UNIT = "Không có đơn vị “{name}”. Gõ <code>/viec</code> hoặc <code>/viec mã-đơn-vị</code>, ví dụ: {codes}."
GONE = "Danh sách này không còn. Gõ /viec để xem lại."
BUTTONS_PER_ROW = 4


def unit_spec(found: Services, text: str) -> str | None:
    """A unit or group code for what an admin typed: a code, a name, or words such as 'UBND cấp xã'."""
    settings = found.settings
    if unit := settings.unit(text):
        return unit.code
    if group := settings.unit_group(text.strip().lower()):
        return group.code
    named = frozenset().union(*(m.units for m in found.register.directory.mentions(tokenize(text))))
    if len(named) == 1:
        return next(iter(named))
    return found.register.directory.group_of(named) if named else None


async def _asked(found: Services, key: str, official: User) -> DutyQuestion | None:
    """What a list shows, from the key its buttons carry (a question's answer is read on the database
    thread, after its write; the register in the retrieval pool)."""
    kind, _, value = key.partition(":")
    may_see = value == official.unit_code or found.settings.telegram.is_admin(official.telegram_id or 0)
    if kind == "u" and may_see and (codes := found.settings.unit_codes(value)):
        return DutyQuestion(frozenset(codes), unit_label(codes, found.register.directory))
    if kind != "q" or not is_number(value):
        return None
    answer_id, register = int(value), found.register
    record = await found.on_db(lambda s: s.users.answer_record(answer_id))
    if record is None:
        return None
    question, unit = record[0], official.unit_code
    return await found.on_index(lambda _: duty_question(question, unit, register.directory, register.store.documents()))


async def _duties(found: Services, asked: DutyQuestion) -> DutyList:
    """The duties asked for, read from the register in the retrieval pool (off the event loop)."""
    register, today = found.register, found.today()
    return await found.on_index(lambda _: duty_list(register, asked, today))


def duties_keyboard(key: str, found: DutyList, page: int, with_votes: bool) -> InlineKeyboardMarkup | None:
    """📄 one button per duty of the page, then ◀ n/N ▶, then 👍/👎 for an answer to a question."""
    total = render.duty_pages(found)
    size = render.DUTIES_PER_PAGE
    numbers = range((page - 1) * size + 1, min(page * size, len(found.items)) + 1)
    full = [InlineKeyboardButton(f"📄 {n}", callback_data=f"vfull:{key}:{n}") for n in numbers]
    rows = [full[i : i + BUTTONS_PER_ROW] for i in range(0, len(full), BUTTONS_PER_ROW)]
    if total > 1:
        turn = []
        if page > 1:
            turn.append(InlineKeyboardButton("◀ Trước", callback_data=f"viec:{key}:{page - 1}"))
        turn.append(InlineKeyboardButton(f"{page}/{total}", callback_data="noop"))
        if page < total:
            turn.append(InlineKeyboardButton("Sau ▶", callback_data=f"viec:{key}:{page + 1}"))
        rows.append(turn)
    if with_votes:
        rows.append(vote_row(key.removeprefix("q:")))
    return InlineKeyboardMarkup(rows) if rows else None


async def send_duties(
    update: Update, context: ContextTypes.DEFAULT_TYPE, key: str, found: DutyList, soon: bool = False
) -> None:
    """The first page of a duty list, as a new message."""
    keyboard = duties_keyboard(key, found, 1, with_votes=key.startswith("q:"))
    await reply(update, context, render.duties_page(found, 1, soon), reply_markup=keyboard)


async def duties_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/viec [đơn vị]: my unit's duties; an admin may name any unit or group."""
    official = await approved_or_refused(update, context)
    if official is None:
        return
    found = services(context)
    wanted = " ".join(context.args or []).strip()
    spec = unit_spec(found, wanted) if wanted else official.unit_code
    if spec is None:
        codes = ", ".join(f"<code>{u.code}</code>" for u in found.settings.units[:4])
        await reply(update, context, UNKNOWN_UNIT.format(name=wanted, codes=codes))
        return
    if spec != official.unit_code and not found.settings.telegram.is_admin(official.telegram_id or 0):
        await reply(update, context, OTHER_UNIT)
        return
    asked = await _asked(found, f"u:{spec}", official)
    if asked is None:
        await reply(update, context, GONE)
        return
    await send_duties(update, context, f"u:{spec}", await _duties(found, asked))


async def _list_of(
    update: Update, context: ContextTypes.DEFAULT_TYPE, official: User, key: str
) -> tuple[DutyList, bool] | None:
    """The list a button belongs to, computed again; None (and the official told) when it is gone."""
    found = services(context)
    asked = await _asked(found, key, official)
    if asked is None:
        await callback_of(update).answer(GONE, show_alert=True)
        return None
    return await _duties(found, asked), asked.soon


async def page_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """◀ / ▶ of a duty list: the page asked for, in the same message."""
    official = await approved_or_refused(update, context)
    if official is None:
        return
    key, asked_page = key_and_number(update, "viec:")
    listed = await _list_of(update, context, official, key)
    if listed is None:
        return
    found, soon = listed
    page = min(max(asked_page or 1, 1), render.duty_pages(found))
    query = callback_of(update)
    await query.answer()
    keyboard = duties_keyboard(key, found, page, with_votes=key.startswith("q:"))
    try:
        await query.edit_message_text(render.duties_page(found, page, soon), reply_markup=keyboard)
    except BadRequest as error:  # pressed twice: Telegram refuses an edit that changes nothing
        if "not modified" not in str(error).lower():
            raise


async def full_text_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """📄 n: the whole article or item the n-th duty comes from."""
    official = await approved_or_refused(update, context)
    if official is None:
        return
    key, number = key_and_number(update, "vfull:")
    listed = await _list_of(update, context, official, key)
    if listed is None:
        return
    items = listed[0].items
    number = number or 0
    chosen = items[number - 1] if 0 < number <= len(items) else None
    found = services(context)
    shown = await found.on_index(lambda index: full_text(index, chosen.doc_id, chosen.loc)) if chosen else None
    if shown is None:
        await callback_of(update).answer(GONE, show_alert=True)
        return
    await callback_of(update).answer()
    pages = render.pages(*shown)
    await send_all(context.bot, found, chat_id(update), pages, retries=found.settings.telegram.send_retries)
