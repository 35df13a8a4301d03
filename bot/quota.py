"""How many questions one official may ask in a window of time (in memory, per process)."""

from __future__ import annotations

import time
from collections import defaultdict, deque


class QuestionQuota:
    """At most `limit` questions per user within `window` seconds (sliding window)."""

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
