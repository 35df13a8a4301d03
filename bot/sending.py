"""One sending path for every message the bot sends.

A 429 is handled in one place: PTB's AIORateLimiter waits `retry_after` and retries (`telegram.send_retries`
times); one it gives up on is not retried again here, the send just did not happen this time. Here a 403
"bot was blocked by the user" is reported (and the official marked blocked) instead of retried, network
errors are retried with exponential backoff a bounded number of times, and a bad request fails at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from telegram import Bot, Message
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

log = logging.getLogger(__name__)
BACKOFF_SECONDS = 0.5


class BlockedChats(Protocol):
    """Where a chat that blocked the bot is recorded (the running bot writes it behind the send)."""

    def mark_blocked(self, chat_id: int) -> object: ...


def seconds(value: float | timedelta) -> float:
    """RetryAfter.retry_after is an int or a timedelta, depending on PTB_TIMEDELTA."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass(frozen=True)
class Outcome:
    """What became of one send: delivered (with the message), blocked by the user, refused for good
    (a bad request), or worth another try later (`retry`: a 429 the rate limiter gave up on, a network
    error that outlasted the retries, another Telegram error)."""

    message: Message | None = None
    blocked: bool = False
    retry: bool = False
    error: str = ""


async def deliver(send: Callable[[], Awaitable[Message]], chat_id: int, retries: int = 3) -> Outcome:
    """Run one send with the policy every message follows: a 403 is reported as blocked, a 429 the rate
    limiter already retried is not retried again, network errors back off and retry, a bad request (chat
    not found, HTML Telegram cannot parse) fails at once."""
    for attempt in range(retries + 1):
        try:
            return Outcome(message=await send())
        except Forbidden as exc:
            log.info("chat %s blocked the bot", chat_id)
            return Outcome(blocked=True, error=exc.message)
        except RetryAfter as exc:
            return Outcome(retry=True, error=f"429 (retry after {seconds(exc.retry_after):.0f} s): {exc.message}")
        except BadRequest as exc:
            return Outcome(error=exc.message)
        except NetworkError as exc:  # includes TimedOut and Telegram's 5xx answers
            if attempt == retries:
                return Outcome(retry=True, error=exc.message)
            await asyncio.sleep(BACKOFF_SECONDS * 2**attempt)
        except TelegramError as exc:
            return Outcome(retry=True, error=f"{type(exc).__name__}: {exc.message}")
    return Outcome(retry=True, error="not sent")


async def send_html(
    bot: Bot, users: BlockedChats, chat_id: int, text: str, retries: int = 3, **kwargs: Any
) -> Message | None:
    """Send an HTML message; None when it could not be delivered (a 403 also marks the user blocked)."""
    outcome = await deliver(lambda: bot.send_message(chat_id, text, **kwargs), chat_id, retries)
    if outcome.blocked:
        users.mark_blocked(chat_id)
    elif outcome.error:
        log.warning("message to chat %s not delivered: %s", chat_id, outcome.error)
    return outcome.message


async def show_typing(bot: Bot, users: BlockedChats, chat_id: int) -> bool:
    """Show "typing…"; False when the chat blocked the bot (the user is then marked inactive)."""
    try:
        await bot.send_chat_action(chat_id, ChatAction.TYPING)
    except Forbidden:
        users.mark_blocked(chat_id)
        return False
    except TelegramError as exc:  # a network error, a 429: cosmetic, the answer still goes out
        log.info("typing indicator for chat %s not shown: %s", chat_id, exc)
    return True


async def send_all(
    bot: Bot, users: BlockedChats, chat_id: int, messages: list[str], retries: int = 3, **last_kwargs: Any
) -> Message | None:
    """Send several messages in order; keyword arguments (buttons) go with the last one."""
    sent = None
    for i, text in enumerate(messages):
        extra = last_kwargs if i == len(messages) - 1 else {}
        sent = await send_html(bot, users, chat_id, text, retries=retries, **extra)
        if sent is None:
            return None
    return sent
