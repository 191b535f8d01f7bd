"""The bot's one web server (aiohttp, inside the bot's process): /healthz, /metrics, /r/<token>.

Served on WEB_PORT (HEALTH_PORT is its old name). An adapter beside the Telegram handlers: it
takes a `Runtime` and calls services (`StatusService` through the health checks,
`TrackingService` for tracked links), never repositories.

- `/healthz`, `/metrics`: see `bot/web/health.py`; JSON or Prometheus text, never cached.
- `GET|HEAD /r/<token>`: a tracked link. A token the bot signed for a message that still
  exists answers 302 to the message's original URL (a post's link, a broadcast's action
  link), and a GET from a person counts a click on that delivery; HEAD requests and automated
  user agents (link-preview fetchers, crawlers) are redirected without counting
  (`bot.domain.links.counts_as_click`). Anything else under /r/ is a small 404 page, never a
  redirect. Redirects say `Referrer-Policy: no-referrer`, so the destination never sees the
  token.

- `POST <path of WEBHOOK_URL>` (webhook mode only): Telegram's updates, see `bot/web/webhook.py`.

Hardening: GET and HEAD only, but for the webhook's POST; requests with a body larger than
`MAX_REQUEST_BYTES` (the webhook: `MAX_UPDATE_BYTES`) are refused (413); each request is
handled within `REQUEST_TIMEOUT_SECONDS`; request lines and headers are capped; idle
connections close after `KEEPALIVE_SECONDS`. There is no access log (it would record visitors'
IP addresses) and no traceback ever reaches a client: errors are logged without the request's
address, token or headers and answered with a one-line text.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.domain.links import counts_as_click
from bot.render import web as texts
from bot.runtime import Runtime
from bot.web.health import HealthChecks, HealthReport, Metrics
from bot.web.webhook import MAX_UPDATE_BYTES, WebhookReceiver

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 4 * 1024  # the server takes no uploads: a request body has no use here
REQUEST_TIMEOUT_SECONDS = 10.0
KEEPALIVE_SECONDS = 15.0
MAX_LINE_BYTES = 4 * 1024
MAX_HEADERS = 64
SHUTDOWN_SECONDS = 2.0
_NO_STORE = {"Cache-Control": "no-store"}
_BODY_KEY = web.RequestKey("body", bytes)  # the body the guard read, for the webhook route
# Characters kept as they are when a redirect target is written into the Location header.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _text(status: int, body: str, **headers: str) -> web.Response:
    return web.Response(
        status=status,
        text=body,
        content_type="text/plain",
        charset="utf-8",
        headers={**_NO_STORE, **headers},
    )


class WebServer:
    """Serves /healthz, /metrics and the tracked links of one runtime."""

    def __init__(
        self,
        runtime: Runtime,
        metrics: Metrics,
        *,
        request_timeout: float = REQUEST_TIMEOUT_SECONDS,
        webhook: WebhookReceiver | None = None,
    ) -> None:
        self.runtime = runtime
        self.webhook = webhook
        self._webhook_resource: web.AbstractResource | None = None
        self.metrics = metrics
        self.health = HealthChecks(runtime, metrics)
        self._request_timeout = request_timeout
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def make_app(self) -> web.Application:
        """The aiohttp application (routes and the guard middleware)."""
        largest = MAX_UPDATE_BYTES if self.webhook is not None else MAX_REQUEST_BYTES
        app = web.Application(client_max_size=largest, middlewares=[self._guard])
        if self.webhook is not None:
            route = app.router.add_post(self.webhook.path, self._receive_update)
            self._webhook_resource = route.resource
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/r/{token:.*}", self._follow)
        app.router.add_get("/{tail:.*}", self._not_found)
        app.on_response_prepare.append(_plain_server_header)
        return app

    async def start(self, port: int, host: str = "0.0.0.0") -> None:  # noqa: S104 - probes and clicks come from outside
        """Listen on host:port (port 0 picks a free one; `self.port` tells which)."""
        runner = web.AppRunner(
            self.make_app(),
            handle_signals=False,
            access_log=None,  # no access log: it would record visitors' IP addresses
            shutdown_timeout=SHUTDOWN_SECONDS,
            keepalive_timeout=KEEPALIVE_SECONDS,
            max_line_size=MAX_LINE_BYTES,
            max_field_size=MAX_LINE_BYTES,
            max_headers=MAX_HEADERS,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("web server listening", extra={"port": self.port})

    async def stop(self) -> None:
        """Stop listening (requests in flight get a moment to finish)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    # -- what the health checks say (kept for callers of the old HealthServer) -----------------

    async def check(self) -> HealthReport:
        """Run every health check; healthy only if all pass."""
        return await self.health.check()

    async def render_metrics(self) -> bytes:
        """Prometheus text; the queue depth is counted now."""
        return await self.health.render_metrics()

    # -- middleware -----------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Size limit, GET/HEAD only, timeout; errors become one-line answers, never tracebacks.

        The webhook's route takes POST and a larger body; the timeout covers reading the body.
        """
        try:
            webhook = self._is_webhook(request)
            limit = MAX_UPDATE_BYTES if webhook else MAX_REQUEST_BYTES
            length = request.content_length
            if length is not None and length > limit:
                return _text(413, texts.TOO_LARGE_TEXT, Connection="close")
            async with asyncio.timeout(self._request_timeout):
                if request.body_exists:
                    body = await _read_body(request, limit)  # over it: HTTPRequestEntityTooLarge
                    if webhook:
                        request[_BODY_KEY] = body
                if not webhook and request.method not in ("GET", "HEAD"):
                    return _text(405, texts.METHOD_NOT_ALLOWED_TEXT, Allow="GET, HEAD")
                return await handler(request)
        except web.HTTPRequestEntityTooLarge:
            return _text(413, texts.TOO_LARGE_TEXT, Connection="close")
        except web.HTTPException as error:  # aiohttp's own answers (none expected): plain text
            return _text(error.status, f"{error.reason}\n")
        except TimeoutError:
            log.warning("web request timed out", extra={"route": _route_name(request)})
            return _text(503, texts.TIMEOUT_TEXT)
        except Exception:
            # The route only: no address, no token, no headers in the log.
            log.exception("web request failed", extra={"route": _route_name(request)})
            return _text(500, texts.SERVER_ERROR_TEXT)

    def _is_webhook(self, request: web.Request) -> bool:
        return (
            self._webhook_resource is not None
            and request.match_info.route.resource is self._webhook_resource
        )

    # -- routes ---------------------------------------------------------------------------------

    async def _receive_update(self, request: web.Request) -> web.Response:
        if self.webhook is None:  # pragma: no cover - the route exists only with a receiver
            return _text(404, texts.NOT_FOUND_TEXT)
        return await self.webhook.receive(request, request.get(_BODY_KEY, b""))

    async def _healthz(self, request: web.Request) -> web.Response:
        report = await self.health.check()
        payload = {
            "status": "ok" if report.healthy else "unhealthy",
            "checks": report.checks,
            "reasons": report.reasons,
        }
        return web.Response(
            status=200 if report.healthy else 503,
            body=json.dumps(payload).encode() + b"\n",
            content_type="application/json",
            headers=_NO_STORE,
        )

    async def _metrics(self, request: web.Request) -> web.Response:
        body = await self.health.render_metrics()
        return web.Response(body=body, headers={**_NO_STORE, "Content-Type": CONTENT_TYPE_LATEST})

    async def _follow(self, request: web.Request) -> web.Response:
        token = request.match_info.get("token", "")
        count = counts_as_click(request.method, request.headers.get("User-Agent"))
        url = await self.runtime.tracking.follow(token, count=count)
        if url is None:
            return web.Response(
                status=404,
                text=texts.LINK_NOT_FOUND_HTML,
                content_type="text/html",
                charset="utf-8",
                headers={**_NO_STORE, "X-Robots-Tag": "noindex"},
            )
        return web.Response(
            status=302,
            headers={
                **_NO_STORE,
                "Location": quote(url, safe=_URL_SAFE),
                "Referrer-Policy": "no-referrer",
                "X-Robots-Tag": "noindex",
            },
        )

    async def _not_found(self, request: web.Request) -> web.Response:
        return _text(404, texts.NOT_FOUND_TEXT)


async def _plain_server_header(request: web.Request, response: web.StreamResponse) -> None:
    """Name the server without the versions of Python and aiohttp."""
    response.headers["Server"] = "campaignbot"


async def _read_body(request: web.Request, limit: int) -> bytes:
    """The request's body, refused as soon as it grows beyond `limit` (chunked bodies too)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
        chunks.append(chunk)
    return b"".join(chunks)


def _route_name(request: web.Request) -> str:
    """The route a request took, without its variable parts (never a token)."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "?"
