"""PTB's AIORateLimiter with room kept for interactive replies.

Bulk sends (reminders, announcements) pass `rate_limit_args=BULK` and first take a token from a bulk
limiter set a little below the overall rate, so a large broadcast never fills the whole budget: an
official's question is answered at once instead of queueing behind thousands of announcements. The
"typing…" indicator is no message and takes no token: when twenty officials ask at once, the budget goes
to their answers.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.ext import AIORateLimiter

BULK = {"bulk": True}


class InteractiveFirstRateLimiter(AIORateLimiter):
    """AIORateLimiter whose bulk sends use at most `bulk_share` of the overall rate."""

    def __init__(self, overall_max_rate: float, max_retries: int, bulk_share: float = 0.93) -> None:
        super().__init__(overall_max_rate=overall_max_rate, max_retries=max_retries)
        self._bulk_limiter = AsyncLimiter(max(1.0, overall_max_rate * bulk_share), 1)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Any,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint == "sendChatAction":
            return await callback(*args, **kwargs)
        if isinstance(rate_limit_args, dict) and rate_limit_args.get("bulk"):
            await self._bulk_limiter.acquire()
            rate_limit_args = None
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
