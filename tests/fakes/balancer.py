"""A tiny round-robin HTTP load balancer for tests: several bot instances behind one webhook URL.

What the reverse proxy of docs/DEPLOYING.md (Caddy's `reverse_proxy` with `lb_policy
round_robin` and `lb_try_duration`) does for Telegram's webhook POSTs: each request goes to the
next upstream in turn, and an upstream that refuses the connection (stopped, killed) is skipped
for the next one; the answer of the upstream that took the request (status, body) is passed
back unchanged. Only the headers a webhook needs are forwarded (Content-Type and Telegram's
secret token). 502 when no upstream takes the request. No TLS, no health checks. This is Caddy
2.11.2 and later: older Caddy answers 502 to a POST it retries after a refused connection
(docs/DEPLOYING.md).

    async with Balancer([f"http://127.0.0.1:{a}", f"http://127.0.0.1:{b}"]) as balancer:
        ... WEBHOOK_URL = f"{balancer.url}/telegram/hook" ...
"""

from __future__ import annotations

from collections import Counter
from typing import Self

from aiohttp import ClientConnectorError, ClientSession, ClientTimeout, TCPConnector, web

_FORWARDED = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")


class Balancer:
    """Round robin over `upstreams` (base URLs), skipping those that refuse connections."""

    def __init__(self, upstreams: list[str], *, host: str = "127.0.0.1", port: int = 0) -> None:
        if not upstreams:
            raise ValueError("a balancer needs at least one upstream")
        self.upstreams = [u.rstrip("/") for u in upstreams]
        self.host = host
        self.port = port
        self.taken: Counter[str] = Counter()  # upstream -> requests it answered
        self.refused: Counter[str] = Counter()  # upstream -> connections it refused
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None

    @property
    def url(self) -> str:
        """The balancer's root, e.g. `http://127.0.0.1:40123`."""
        if self._runner is None:
            raise RuntimeError("the balancer is not started")
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> Self:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self.port = int(runner.addresses[0][1])
        self._runner = runner
        # A new connection per request: a stopped upstream is then always a refused connection.
        self._session = ClientSession(
            timeout=ClientTimeout(total=30), connector=TCPConnector(force_close=True)
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {name: request.headers[name] for name in _FORWARDED if name in request.headers}
        for _ in self.upstreams:
            upstream = self.upstreams[self._next % len(self.upstreams)]
            self._next += 1
            try:
                async with self._session.request(
                    request.method, upstream + request.path_qs, data=body, headers=headers
                ) as answer:
                    content = await answer.read()
                    self.taken[upstream] += 1
                    return web.Response(
                        status=answer.status,
                        body=content,
                        content_type=answer.content_type,
                    )
            except ClientConnectorError:  # not connected: nothing reached it, try the next
                self.refused[upstream] += 1
        return web.Response(status=502, text="no upstream took the request\n")
