"""One sending path for every message the bot sends.

429s are honoured by PTB's AIORateLimiter (configured with `telegram.send_retries`); here a 403 "bot was
blocked by the user" marks the official inactive instead of retrying, and network errors are retried with
exponential backoff a bounded number of times.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from telegram import Bot, Message
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from knowledge.users import UserStore

log = logging.getLogger(__name__)
BACKOFF_SECONDS = 0.5


def seconds(value: float | timedelta) -> float:
    """RetryAfter.retry_after is an int or a timedelta, depending on PTB_TIMEDELTA."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def send_html(
    bot: Bot, users: UserStore, chat_id: int, text: str, retries: int = 3, **kwargs: Any
) -> Message | None:
    """Send an HTML message; None when the chat blocked the bot (the user is then marked inactive)."""
    for attempt in range(retries + 1):
        try:
            return await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, **kwargs)
        except Forbidden:
            log.info("chat %s blocked the bot; marking inactive", chat_id)
            users.mark_blocked(chat_id)
            return None
        except RetryAfter as exc:  # only when the rate limiter's own retries are used up
            if attempt == retries:
                raise
            await asyncio.sleep(seconds(exc.retry_after))
        except BadRequest:
            raise
        except NetworkError:
            if attempt == retries:
                raise
            await asyncio.sleep(BACKOFF_SECONDS * 2**attempt)
    return None


async def show_typing(bot: Bot, users: UserStore, chat_id: int) -> bool:
    """Show "typing…"; False when the chat blocked the bot (the user is then marked inactive)."""
    try:
        await bot.send_chat_action(chat_id, ChatAction.TYPING)
    except Forbidden:
        users.mark_blocked(chat_id)
        return False
    except NetworkError:
        log.info("typing indicator for chat %s not shown", chat_id)  # cosmetic: the answer still goes out
    return True


async def send_all(
    bot: Bot, users: UserStore, chat_id: int, messages: list[str], retries: int = 3, **last_kwargs: Any
) -> Message | None:
    """Send several messages in order; keyword arguments (buttons) go with the last one."""
    sent = None
    for i, text in enumerate(messages):
        extra = last_kwargs if i == len(messages) - 1 else {}
        sent = await send_html(bot, users, chat_id, text, retries=retries, **extra)
        if sent is None:
            return None
    return sent
