"""A Bot API stand-in on 127.0.0.1 that answers like Telegram does, errors included.

The real python-telegram-bot Application talks to it over real HTTP (`ApplicationBuilder().base_url`).
It serves getMe, deleteWebhook, setWebhook, setMyCommands and deleteMyCommands (per scope, kept in
`menus`), long-poll getUpdates, sendMessage, editMessageText, editMessageReplyMarkup, answerCallbackQuery,
sendChatAction, getFile, sendDocument and sendPhoto with Telegram's JSON shapes, records what the bot sent
(uploaded files with their bytes), and can be told to fail: 429 with `parameters.retry_after`, 403
"Forbidden: bot was blocked by the user", 400 "Bad Request: chat not found", 500. Like Telegram it refuses
messages over 4,096 characters and captions over 1,024 ("message is too long", "message caption is too
long"), HTML it cannot parse ("can't parse entities"), and an unknown file_id; an uploaded document or
photo gets a new file_id, which later sends may pass instead of the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Trợ lý CCHC", "username": "tro_ly_cchc_bot"}
MAX_TEXT = 4096
MAX_CAPTION = 1024
TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre"}
TAGS |= {"blockquote", "tg-emoji"}
HTML_TOKEN = re.compile(r"<(/?)([a-z-]+)(\s[^<>]*)?>|&(?:#\d+|#x[0-9a-f]+|lt|gt|amp|quot);|[<&]", re.IGNORECASE)


def html_problem(text: str) -> str | None:
    """Why Telegram's HTML parser would refuse `text` (an unknown or unclosed tag, a bare < or &), or None."""
    stack: list[str] = []
    for token in HTML_TOKEN.finditer(text):
        closing, tag = token.group(1), (token.group(2) or "").lower()
        at = len(text[: token.start()].encode("utf-8"))
        if token.group(0) in ("<", "&"):
            return f"can't parse entities: unexpected '{token.group(0)}' at byte offset {at}"
        if not tag:
            continue
        if tag not in TAGS:
            return f'can\'t parse entities: unsupported start tag "{tag}" at byte offset {at}'
        if not closing:
            stack.append(tag)
        elif not stack or stack.pop() != tag:
            return f"can't parse entities: can't find end tag corresponding to start tag \"{tag}\""
    if stack:
        return f"can't parse entities: can't find end tag corresponding to start tag \"{stack[-1]}\""
    return None


@dataclass
class Sent:
    """One call the bot made that changed something, as the stand-in saw it."""

    method: str
    chat_id: int
    text: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    message_id: int = 0
    at: float = 0.0

    @property
    def uploaded(self) -> bool:
        """A document or photo sent as a file upload (not as a file_id Telegram already has)."""
        return isinstance(self.params.get("document", self.params.get("photo")), dict)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        markup = self.params.get("reply_markup") or {}
        return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]


def _error(code: int, description: str, **parameters: Any) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)


class BotApiStandIn:
    """Start with `await stand_in.start()`; `base_url` is what PTB's ApplicationBuilder().base_url takes."""

    def __init__(self) -> None:
        self.updates: list[dict] = []
        self.sent: list[Sent] = []
        self.calls: list[tuple[str, int | None]] = []  # every request: method and chat, failures included
        self.blocked: set[int] = set()
        self.unknown_chats: set[int] = set()
        self.failures: dict[tuple[str, int | None], list[tuple[int, str, dict]]] = {}
        self.webhook_url = ""
        self.before_answer: Callable[[str, dict[str, Any]], object] | None = None  # a test's hook, run per call
        self.files: dict[str, bytes] = {}  # file_id -> content, for getFile, downloads and sends by file_id
        self._file_ids = itertools.count(1)
        self.menus: dict[str, list[str]] = {}  # command menu per scope ("default", "chat:<id>"): command names
        self._new_update = asyncio.Event()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --------------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # ------------------------------------------------------------------------------ test controls

    def fail_next(
        self, method: str, chat_id: int | None, code: int, description: str, times: int = 1, **params: Any
    ) -> None:
        """Make the next `times` calls of `method` (to `chat_id`, or any chat if None) fail like Telegram."""
        self.failures.setdefault((method, chat_id), []).extend([(code, description, params)] * times)

    def push_update(self, update: dict) -> int:
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, **update})
        self._new_update.set()
        return update_id

    def to(self, chat_id: int, method: str | None = None) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id and (method is None or s.method == method)]

    async def wait_for(self, predicate: Callable[[Sent], bool], timeout: float = 20.0) -> list[Sent]:
        """Wait until some recorded calls satisfy `predicate(sent)`; returns them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [s for s in self.sent if predicate(s)]
            if found:
                return found
            await asyncio.sleep(0.02)
        seen = [(s.method, s.chat_id, s.text[:60]) for s in self.sent[-20:]]
        raise AssertionError(f"the bot did not send what was expected; the last it sent: {seen}")

    # ---------------------------------------------------------------------------------- handling

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if request.content_type == "application/json":
            params = await request.json()
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    try:
                        params[key] = json.loads(value) if value[:1] in "{[" else value
                    except json.JSONDecodeError:
                        params[key] = value
                elif isinstance(value, web.FileField):  # an uploaded file
                    content = value.file.read()
                    params[key] = {"filename": value.filename, "size": len(content), "content": content}
        params.update(request.query)
        return params

    def _injected_failure(self, method: str, chat_id: int | None) -> web.Response | None:
        for key in ((method, chat_id), (method, None)):
            queue = self.failures.get(key)
            if queue:
                code, description, params = queue.pop(0)
                return _error(code, description, **params) if code else None
        return None

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        chat_id = int(params["chat_id"]) if "chat_id" in params else None
        self.calls.append((method, chat_id))
        if self.before_answer is not None:
            self.before_answer(method, params)
        if failure := self._injected_failure(method, chat_id):
            return failure
        if chat_id is not None and chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        if chat_id is not None and chat_id in self.unknown_chats:
            return _error(400, "Bad Request: chat not found")
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return _error(404, "Not Found")
        return await handler(params, chat_id)

    def _ok(self, result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    def _message(self, chat_id: int, **content: Any) -> dict:
        chat_type = "private" if chat_id > 0 else "supergroup"
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type},
            "from": BOT_USER,
            **content,
        }

    def _record(self, method: str, chat_id: int, text: str, params: dict, message_id: int) -> None:
        self.sent.append(Sent(method, chat_id, text, params, message_id, time.monotonic()))

    async def _getFile(self, params: dict, chat_id: int | None) -> web.Response:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            return _error(400, "Bad Request: invalid file_id")
        return self._ok(
            {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_size": len(self.files[file_id]),
                "file_path": f"documents/{file_id}",
            }
        )

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        return web.Response(body=self.files[file_id]) if file_id in self.files else web.Response(status=404)

    async def _getMe(self, params: dict, chat_id: int | None) -> web.Response:
        return self._ok(BOT_USER)

    async def _deleteWebhook(self, params: dict, chat_id: int | None) -> web.Response:
        self.webhook_url = ""
        return self._ok(True)

    async def _setWebhook(self, params: dict, chat_id: int | None) -> web.Response:
        self.webhook_url = params.get("url", "")
        return self._ok(True)

    def _scope(self, params: dict) -> tuple[str, web.Response | None]:
        """The menu scope a (set|delete)MyCommands call names; a chat the bot never met is Telegram's 400."""
        scope = params.get("scope") or {"type": "default"}
        if isinstance(scope, str):
            scope = json.loads(scope)
        if scope["type"] != "chat":
            return scope["type"], None
        chat = int(scope["chat_id"])
        if chat in self.unknown_chats:
            return "", _error(400, "Bad Request: chat not found")
        return f"chat:{chat}", None

    async def _setMyCommands(self, params: dict, chat_id: int | None) -> web.Response:
        scope, refused = self._scope(params)
        if refused:
            return refused
        commands = params.get("commands") or []
        if isinstance(commands, str):
            commands = json.loads(commands)
        self.menus[scope] = [c["command"] for c in commands]
        return self._ok(True)

    async def _deleteMyCommands(self, params: dict, chat_id: int | None) -> web.Response:
        scope, refused = self._scope(params)
        if refused:
            return refused
        self.menus.pop(scope, None)
        return self._ok(True)

    async def _getUpdates(self, params: dict, chat_id: int | None) -> web.Response:
        offset = int(params.get("offset", 0) or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout=float(params.get("timeout", 0) or 0))
        return self._ok([u for u in self.updates if u["update_id"] >= offset][:100])

    def _refused_text(self, params: dict, key: str, limit: int) -> web.Response | None:
        """Telegram's answer to a text or caption it will not take: too long, or HTML it cannot parse."""
        text = str(params.get(key, ""))
        if len(text) > limit:
            return _error(
                400, "Bad Request: message is too long" if key == "text" else "Bad Request: message caption is too long"
            )
        if str(params.get("parse_mode", "")).upper() == "HTML" and (problem := html_problem(text)):
            return _error(400, f"Bad Request: {problem}")
        return None

    def _file(self, params: dict, key: str, prefix: str) -> tuple[str, web.Response | None]:
        """The file_id of a sent document or photo: a new one for an upload, else the one passed (if known)."""
        value = params.get(key)
        if isinstance(value, dict):
            file_id = f"{prefix}-{next(self._file_ids)}"
            self.files[file_id] = value.get("content", b"")
            return file_id, None
        if str(value) not in self.files:
            return "", _error(400, "Bad Request: wrong file identifier/HTTP URL specified")
        return str(value), None

    async def _sendMessage(self, params: dict, chat_id: int | None) -> web.Response:
        text = str(params.get("text", ""))
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if refused := self._refused_text(params, "text", MAX_TEXT):
            return refused
        message = self._message(chat_id, text=text)  # type: ignore[arg-type]
        self._record("sendMessage", chat_id, text, params, message["message_id"])  # type: ignore[arg-type]
        return self._ok(message)

    async def _editMessageText(self, params: dict, chat_id: int | None) -> web.Response:
        text = str(params.get("text", ""))
        if refused := self._refused_text(params, "text", MAX_TEXT):
            return refused
        message_id = int(params.get("message_id", 0))
        self._record("editMessageText", chat_id, text, params, message_id)  # type: ignore[arg-type]
        return self._ok({**self._message(chat_id, text=text), "message_id": message_id})  # type: ignore[arg-type]

    async def _editMessageReplyMarkup(self, params: dict, chat_id: int | None) -> web.Response:
        message_id = int(params.get("message_id", 0))
        self._record("editMessageReplyMarkup", chat_id or 0, "", params, message_id)
        return self._ok({**self._message(chat_id or 0, text=""), "message_id": message_id})

    async def _answerCallbackQuery(self, params: dict, chat_id: int | None) -> web.Response:
        self._record("answerCallbackQuery", 0, str(params.get("text", "")), params, 0)
        return self._ok(True)

    async def _sendChatAction(self, params: dict, chat_id: int | None) -> web.Response:
        self._record("sendChatAction", chat_id, str(params.get("action", "")), params, 0)  # type: ignore[arg-type]
        return self._ok(True)

    async def _sendDocument(self, params: dict, chat_id: int | None) -> web.Response:
        if refused := self._refused_text(params, "caption", MAX_CAPTION):
            return refused
        file_id, refused = self._file(params, "document", "doc")
        if refused:
            return refused
        document = params["document"]
        name = document.get("filename", "") if isinstance(document, dict) else ""
        message = self._message(
            chat_id,  # type: ignore[arg-type]
            document={"file_id": file_id, "file_unique_id": file_id, "file_name": name},
        )
        self._record("sendDocument", chat_id, str(params.get("caption", "")), params, message["message_id"])  # type: ignore[arg-type]
        return self._ok(message)

    async def _sendPhoto(self, params: dict, chat_id: int | None) -> web.Response:
        if refused := self._refused_text(params, "caption", MAX_CAPTION):
            return refused
        file_id, refused = self._file(params, "photo", "photo")
        if refused:
            return refused
        sizes = [{"file_id": file_id, "file_unique_id": file_id, "width": 1, "height": 1}]
        message = self._message(chat_id, photo=sizes)  # type: ignore[arg-type]
        self._record("sendPhoto", chat_id, str(params.get("caption", "")), params, message["message_id"])  # type: ignore[arg-type]
        return self._ok(message)


# ------------------------------------------------------------------------------- update builders

_ids = itertools.count(1)


def user(user_id: int, first_name: str = "Cán bộ") -> dict:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "vi"}


def message_update(user_id: int, text: str | None = None, chat_id: int | None = None, **content: Any) -> dict:
    """A message from a user, in their private chat unless `chat_id` names a group (negative id)."""
    chat_id = user_id if chat_id is None else chat_id
    chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
    message: dict[str, Any] = {"message_id": next(_ids), "date": int(time.time()), "chat": chat, "from": user(user_id)}
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    message.update(content)
    return {"message": message}


def edited(update: dict) -> dict:
    """The same message, edited by its author a moment later (Telegram sends it as `edited_message`)."""
    message = {**update["message"], "edit_date": int(time.time())}
    return {"edited_message": message}


def callback_update(user_id: int, data: str, message: Sent, first_name: str = "Cán bộ") -> dict:
    """A press on an inline button of a message the bot sent."""
    chat = {"id": message.chat_id, "type": "private" if message.chat_id > 0 else "supergroup"}
    return {
        "callback_query": {
            "id": str(next(_ids)),
            "from": user(user_id, first_name),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message.message_id,
                "date": int(time.time()),
                "chat": chat,
                "from": BOT_USER,
                "text": message.text,
            },
        }
    }
