"""A local feed server for tests and benchmarks (aiohttp on 127.0.0.1, random port by default).

Owns: serving programmable feed paths over real HTTP (bodies with ETag / Last-Modified and 304s,
redirects, errors, hanging, trickling and huge responses, an HTML page pointing at a feed) and
counting requests per path. Must not: import the bot, reach any other host, or sleep-poll: hanging
and trickling paths are driven by events and timers and end when the server stops.

    async with FeedServer() as srv:
        srv.add("/feed.xml", rss([{"title": "Hello", "guid": "1"}]), etag='"v1"')
        url = srv.url("/feed.xml")

Standalone, for benchmarks (serves /feed/<n>.xml for n = 1..N, with ETags, plus /feeds.txt):

    python -m tests.fakes.feedserver --port 8090 --feeds 500 --entries 20 \\
        --hang-percent 5 --error-percent 5
    curl -X POST 'http://127.0.0.1:8090/__churn?percent=10'   # 10 % of the feeds get a new post
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from types import TracebackType
from typing import Any, Self
from xml.sax.saxutils import escape, quoteattr

from aiohttp import web

RSS_TYPE = "application/rss+xml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_JUNK_ITEM = b"<item><title>junk</title><description>" + b"x" * 4000 + b"</description></item>\n"


def rss(
    items: Sequence[Mapping[str, Any]],
    title: str = "Test feed",
    link: str = "https://example.org/",
    description: str = "A feed served by the local test server",
    language: str | None = None,
) -> str:
    """Build an RSS 2.0 document (with the channel's `<language>` if given).

    Each item may have `title`, `link`, `guid`, `description` (HTML allowed; it is escaped),
    `categories` (list of strings), `pubDate` (an RFC 822 string or an aware datetime) and
    `image` (a URL, as an image `<enclosure>`).
    """
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title>",
        f"<link>{escape(link)}</link>",
        f"<description>{escape(description)}</description>",
    ]
    if language is not None:
        parts.append(f"<language>{escape(language)}</language>")
    for item in items:
        parts.append("<item>")
        for key in ("title", "link", "description"):
            if item.get(key) is not None:
                parts.append(f"<{key}>{escape(str(item[key]))}</{key}>")
        if item.get("guid") is not None:
            parts.append(f'<guid isPermaLink="false">{escape(str(item["guid"]))}</guid>')
        parts.extend(
            f"<category>{escape(str(category))}</category>"
            for category in item.get("categories", ())
        )
        published = item.get("pubDate")
        if item.get("image") is not None:
            url = quoteattr(str(item["image"]))
            parts.append(f'<enclosure url={url} type="image/jpeg" length="1000"/>')
        if isinstance(published, datetime):
            published = format_datetime(published.astimezone(UTC), usegmt=True)
        if published is not None:
            parts.append(f"<pubDate>{escape(str(published))}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts)


@dataclass
class _Content:
    """What `add()` registered for a path."""

    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    status: int
    headers: Mapping[str, str]


class FeedServer:
    """A programmable HTTP server for feeds; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._routes: dict[str, Handler] = {}
        self._hangs: dict[str, asyncio.Event] = {}
        self._hits: Counter[str] = Counter()
        self._hit = asyncio.Condition()
        self._aborts: Counter[str] = Counter()
        self._abort_events: dict[str, asyncio.Event] = {}
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._base_url = ""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start listening; `url()` works from now on."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        # A deep accept queue: benchmarks open hundreds of connections at once.
        site = web.TCPSite(self._runner, self._host, self._port, backlog=1024)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._base_url = f"http://{host}:{port}"

    async def stop(self) -> None:
        """Release hanging requests, end trickles and stop the server."""
        self._stopping.set()
        for event in self._hangs.values():
            event.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return self._base_url

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._base_url.rsplit(":", 1)[1])

    def url(self, path: str) -> str:
        """Return the absolute URL of `path` on this server."""
        return self._base_url + _slash(path)

    def hits(self, path: str) -> int:
        """Return how many requests `path` has received (all methods and answers)."""
        return self._hits[_slash(path)]

    async def wait_for_hits(self, path: str, count: int, timeout: float = 5.0) -> None:
        """Wait until `path` has received `count` requests in all.

        Raises:
            TimeoutError: After `timeout` seconds.
        """
        path = _slash(path)
        try:
            async with asyncio.timeout(timeout), self._hit:
                await self._hit.wait_for(lambda: self._hits[path] >= count)
        except TimeoutError:
            raise TimeoutError(
                f"feed server: {self._hits[path]} of {count} request(s) to {path} "
                f"within {timeout} s"
            ) from None

    def aborts(self, path: str) -> int:
        """Return how many streamed answers on `path` the client cut off before the end."""
        return self._aborts[_slash(path)]

    async def wait_aborted(self, path: str) -> None:
        """Wait until a streamed answer on `path` is cut off by the client."""
        await self._abort_event(_slash(path)).wait()

    def add(
        self,
        path: str,
        body: bytes | str,
        content_type: str = RSS_TYPE,
        etag: str | None = None,
        last_modified: str | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Serve `body` on `path`, replacing what was there; answer 304 when validators match."""
        content = _Content(
            body=body.encode() if isinstance(body, str) else body,
            content_type=content_type,
            etag=etag,
            last_modified=last_modified,
            status=status,
            headers=dict(headers or {}),
        )

        async def serve(request: web.Request) -> web.StreamResponse:
            return _answer(request, content)

        self._routes[_slash(path)] = serve

    def handle(self, path: str, handler: Handler) -> None:
        """Answer `path` with `handler` (an aiohttp handler), replacing what was there."""
        self._routes[_slash(path)] = handler

    def redirect(self, path: str, to: str, status: int = 301) -> None:
        """Redirect `path` to `to` (a path on this server, or an absolute URL)."""

        async def serve(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": to})

        self._routes[_slash(path)] = serve

    def error(self, path: str, status: int) -> None:
        """Answer `path` with `status` and a short text body."""

        async def serve(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, text=f"error {status}\n")

        self._routes[_slash(path)] = serve

    def hang(self, path: str) -> None:
        """Make requests to `path` wait without answering until `release(path)` or `stop()`.

        Once released they get whatever `path` serves then (404 if nothing was added).
        """
        self._hangs[_slash(path)] = asyncio.Event()

    def release(self, path: str) -> None:
        """Let hanging requests on `path` (and later ones) through."""
        event = self._hangs.pop(_slash(path), None)
        if event is not None:
            event.set()

    def trickle(
        self,
        path: str,
        chunk: bytes | str,
        count: int,
        interval: float = 0.05,
        content_type: str = RSS_TYPE,
    ) -> None:
        """Send `chunk` `count` times, `interval` seconds apart (ends early when stopping)."""
        data = chunk.encode() if isinstance(chunk, str) else chunk

        async def serve(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": content_type})
            await response.prepare(request)

            async def chunks() -> None:
                for index in range(count):
                    if index and await self._stopped_within(interval):
                        return
                    await response.write(data)

            await self._stream(request, response, chunks())
            return response

        self._routes[_slash(path)] = serve

    def huge(self, path: str, size: int, content_type: str = RSS_TYPE) -> None:
        """Stream `size` bytes of XML-ish junk, without a Content-Length and without buffering."""

        async def serve(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": content_type})
            response.enable_chunked_encoding()
            await response.prepare(request)

            async def chunks() -> None:
                await response.write(b'<?xml version="1.0"?><rss version="2.0"><channel>\n')
                left = size
                while left > 0 and not self._stopping.is_set():
                    piece = _JUNK_ITEM[:left]
                    await response.write(piece)
                    left -= len(piece)

            await self._stream(request, response, chunks())
            return response

        self._routes[_slash(path)] = serve

    def html_with_alternate(self, path: str, feed_path: str) -> None:
        """Serve an HTML page on `path` whose `<link rel="alternate">` points at `feed_path`."""
        page = (
            "<!doctype html><html><head><title>Campaign news</title>"
            '<link rel="alternate" type="application/rss+xml" title="News" '
            f"href={quoteattr(feed_path)}>"
            "</head><body><h1>Campaign news</h1></body></html>"
        )
        self.add(path, page, content_type=HTML_TYPE)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self._hits[path] += 1
        async with self._hit:
            self._hit.notify_all()
        hang = self._hangs.get(path)
        if hang is not None:
            await hang.wait()
        route = self._routes.get(path)
        if route is None:
            return web.Response(status=404, text="not found\n")
        return await route(request)

    async def _stream(
        self, request: web.Request, response: web.StreamResponse, chunks: Awaitable[None]
    ) -> None:
        """Run a streaming body; record an abort if the client goes away before the end."""
        finished = False
        try:
            await chunks
            await response.write_eof()
            finished = True
        except ConnectionError:
            pass
        finally:
            if not finished and not self._stopping.is_set():
                self._aborts[request.path] += 1
                self._abort_event(request.path).set()

    async def _stopped_within(self, seconds: float) -> bool:
        """Wait `seconds`, or less if the server stops; return whether it is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    def _abort_event(self, path: str) -> asyncio.Event:
        return self._abort_events.setdefault(path, asyncio.Event())


def _slash(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _answer(request: web.Request, content: _Content) -> web.Response:
    """Answer with `content`, or 304 if the request's validators match it."""
    headers = dict(content.headers)
    if content.etag is not None:
        headers["ETag"] = content.etag
    if content.last_modified is not None:
        headers["Last-Modified"] = content.last_modified
    if content.status == 200 and _not_modified(request, content):
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = content.content_type
    return web.Response(status=content.status, body=content.body, headers=headers)


def _not_modified(request: web.Request, content: _Content) -> bool:
    """RFC 9110 13.2.2: If-None-Match wins over If-Modified-Since."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        if content.etag is None:
            return False
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or content.etag.removeprefix("W/") in tags
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since is None or content.last_modified is None:
        return False
    try:
        return parsedate_to_datetime(content.last_modified) <= parsedate_to_datetime(
            if_modified_since
        )
    except (TypeError, ValueError):
        return if_modified_since == content.last_modified


_CATEGORIES = (
    "torture",
    "refugees",
    "climate",
    "indigenous-rights",
    "death-penalty",
    "free-speech",
)
_BENCH_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def _bench_item(n: int, i: int) -> dict[str, Any]:
    """Post `i` of benchmark feed `n` (i >= 1: the original posts, newest first)."""
    category = _CATEGORIES[(n + i) % len(_CATEGORIES)]
    return {
        "title": f"Feed {n} post {i}: {category} update",
        "link": f"https://campaign.example.org/feed/{n}/post/{i}",
        "guid": f"feed-{n}-post-{i}",
        "description": f"<p>Post {i} of feed {n}. Act now.</p>",
        "categories": [category],
        "pubDate": _BENCH_EPOCH - timedelta(hours=i),
    }


def _bench_new_item(n: int, version: int) -> dict[str, Any]:
    """The post a churned benchmark feed gains at `version` (2, 3, ...); its title says "bench"."""
    return {
        "title": f"Feed {n} update {version}: bench action alert",
        "link": f"https://campaign.example.org/feed/{n}/update/{version}",
        "guid": f"feed-{n}-update-{version}",
        "description": f"<p>Update {version} of feed {n}. Act now.</p>",
        "categories": ["bench"],
        "pubDate": _BENCH_EPOCH + timedelta(minutes=version),
    }


class BenchmarkFeeds:
    """The `/feed/<n>.xml` feeds of `populate_benchmark`, and their churn.

    `churn(percent)` gives the next `percent` % of the healthy feeds (in turn, so every call
    changes different feeds) one new post each: the newest post is added, the oldest dropped
    (the feed keeps `entries` posts) and the ETag and Last-Modified change, so the next
    conditional GET gets a 200 with the new body instead of a 304.
    """

    def __init__(self, srv: FeedServer, entries: int, healthy: Sequence[int]) -> None:
        self._srv = srv
        self._entries = entries
        self._healthy = list(healthy)
        self._versions: dict[int, int] = dict.fromkeys(self._healthy, 1)
        self._cursor = 0
        for n in self._healthy:
            self._serve(n)

    def _serve(self, n: int) -> None:
        version = self._versions[n]
        new = [_bench_new_item(n, v) for v in range(version, 1, -1)]
        old = [_bench_item(n, i) for i in range(1, self._entries + 1)]
        items = (new + old)[: self._entries]
        self._srv.add(
            f"/feed/{n}.xml",
            rss(items, title=f"Feed {n}"),
            etag=f'"feed-{n}-v{version}"',
            last_modified=format_datetime(
                _BENCH_EPOCH + timedelta(minutes=version - 1), usegmt=True
            ),
        )

    def churn(self, percent: float) -> list[int]:
        """Give the next `percent` % of the healthy feeds one new post; return their numbers."""
        if not self._healthy:
            return []
        count = min(len(self._healthy), round(len(self._healthy) * percent / 100))
        changed = []
        for _ in range(count):
            n = self._healthy[self._cursor]
            self._cursor = (self._cursor + 1) % len(self._healthy)
            self._versions[n] += 1
            self._serve(n)
            changed.append(n)
        return changed

    async def handle_churn(self, request: web.Request) -> web.StreamResponse:
        """`POST /__churn?percent=10`: churn and answer `{"changed": <count>}`."""
        if request.method != "POST":
            return web.Response(status=405, text="POST only\n")
        try:
            percent = float(request.query.get("percent", "10"))
        except ValueError:
            return web.Response(status=400, text="percent must be a number\n")
        return web.json_response({"changed": len(self.churn(percent))})


def populate_benchmark(
    srv: FeedServer,
    *,
    feeds: int,
    entries: int,
    hang_percent: float = 0.0,
    error_percent: float = 0.0,
    seed: int = 0,
) -> list[str]:
    """Serve `/feed/<n>.xml` for n = 1..feeds; some hang or fail, chosen by `seed`.

    Returns the feed URLs; they are also listed, one a line, at `/feeds.txt`. The healthy
    feeds change on `POST /__churn?percent=P` (`BenchmarkFeeds.churn`).
    """
    numbers = list(range(1, feeds + 1))
    chooser = random.Random(seed)
    chooser.shuffle(numbers)
    hanging = set(numbers[: round(feeds * hang_percent / 100)])
    failing = set(numbers[len(hanging) : len(hanging) + round(feeds * error_percent / 100)])
    healthy = []
    for n in range(1, feeds + 1):
        path = f"/feed/{n}.xml"
        if n in hanging:
            srv.hang(path)
        if n in failing:
            srv.error(path, (500, 502, 503)[n % 3])
            continue
        healthy.append(n)
    bench = BenchmarkFeeds(srv, entries, healthy)
    srv.handle("/__churn", bench.handle_churn)
    urls = [srv.url(f"/feed/{n}.xml") for n in range(1, feeds + 1)]
    srv.add("/feeds.txt", "\n".join(urls) + "\n", content_type="text/plain; charset=utf-8")
    return urls


async def _serve_forever(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with FeedServer(host=args.host, port=args.port) as srv:
        urls = populate_benchmark(
            srv,
            feeds=args.feeds,
            entries=args.entries,
            hang_percent=args.hang_percent,
            error_percent=args.error_percent,
            seed=args.seed,
        )
        sys.stdout.write(f"serving {len(urls)} feeds; list at {srv.url('/feeds.txt')}\n")
        sys.stdout.flush()
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark server until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--hang-percent", type=float, default=0.0)
    parser.add_argument("--error-percent", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    asyncio.run(_serve_forever(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
