"""The webhook route: Telegram POSTs updates to WEBHOOK_URL's path on the bot's web server.

`WebhookReceiver` checks the `X-Telegram-Bot-Api-Secret-Token` header against WEBHOOK_SECRET in
constant time (403 without it or with another), turns the JSON body into a PTB `Update` (400 if
it is not one: bad JSON, not an object, no integer update_id) and puts it on the Application's
update queue, then answers 200 at once: the response never waits for a handler. The queue is
processed as in long polling, by the Application and its per-chat ordered update processor
(`bot.handlers.updates`), so a chat's updates keep their order.

Once closed (the bot is stopping) it answers 503, so Telegram sends the update again later, to
this instance after a restart or to another one behind the same proxy: an update is only
acknowledged when it is on a queue that will be processed. The secret is never logged.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging

from aiohttp import web
from telegram import Bot, Update

from bot.render import web as texts
from bot.web.health import Metrics

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header's name
# An update is a message with its entities, a reply and a keyboard: ~10-100 KiB at the most.
MAX_UPDATE_BYTES = 256 * 1024
_NO_STORE = {"Cache-Control": "no-store"}


def _text(status: int, body: str) -> web.Response:
    return web.Response(
        status=status, text=body, content_type="text/plain", charset="utf-8", headers=_NO_STORE
    )


class WebhookReceiver:
    """Takes Telegram's webhook requests for one bot and queues their updates."""

    def __init__(
        self,
        path: str,
        secret: str,
        bot: Bot,
        queue: asyncio.Queue[object],
        metrics: Metrics | None = None,
    ) -> None:
        self.path = path
        self._secret = secret.encode()
        self._bot = bot
        self._queue = queue
        self._metrics = metrics
        self._open = True

    def close(self) -> None:
        """Refuse further updates with 503 (Telegram retries them): the bot is stopping."""
        self._open = False

    def authorised(self, request: web.Request) -> bool:
        """Whether the request carries the secret (compared in constant time)."""
        given = request.headers.get(SECRET_HEADER)
        return given is not None and hmac.compare_digest(given.encode(), self._secret)

    async def receive(self, request: web.Request, body: bytes) -> web.Response:
        """Answer one webhook request whose body (within MAX_UPDATE_BYTES) is `body`."""
        if not self.authorised(request):
            return self._answer("forbidden", 403, texts.WEBHOOK_FORBIDDEN_TEXT)
        if not self._open:
            return self._answer("closing", 503, texts.WEBHOOK_CLOSING_TEXT)
        update = self._parse(body)
        if update is None:
            return self._answer("bad_update", 400, texts.WEBHOOK_BAD_UPDATE_TEXT)
        self._queue.put_nowait(update)  # unbounded: never waits
        return self._answer("accepted", 200, texts.WEBHOOK_ACCEPTED_TEXT)

    def _parse(self, body: bytes) -> Update | None:
        try:
            data = json.loads(body)
        except ValueError:  # also bad UTF-8
            log.warning("webhook request is not JSON")
            return None
        if not isinstance(data, dict) or type(data.get("update_id")) is not int:
            log.warning("webhook request is not an update")
            return None
        try:
            return Update.de_json(data, self._bot)
        except Exception:  # a malformed object inside the update; nothing of it is logged
            log.warning("webhook update could not be read", extra={"update_id": data["update_id"]})
            return None

    def _answer(self, outcome: str, status: int, body: str) -> web.Response:
        if self._metrics is not None:
            self._metrics.record_webhook(outcome)
        return _text(status, body)
