"""Tests for bot.feeds.fetch (and the local FeedServer it runs against).

Real HTTP goes only to the FeedServer on 127.0.0.1; anything that would need another host uses
a small local aiohttp server (RawServer), and names are resolved by a fake resolver.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Mapping, Sequence

import pytest
from aiohttp import web

from bot import __version__
from bot.errors import FeedFetchError, FeedRefusedError
from bot.feeds.fetch import (
    AiohttpFetcher,
    GuardedResolver,
    ImageGuard,
    NotModified,
    Retrieved,
    check_url_syntax,
)
from tests.fakes.feedserver import FeedServer, rss
from tests.fakes.routing import routed_connector

FEED = rss([{"title": "Stop torture", "guid": "p1", "link": "https://example.org/p1"}])
NEWER_FEED = rss(
    [
        {"title": "Write for Rights", "guid": "p2", "link": "https://example.org/p2"},
        {"title": "Stop torture", "guid": "p1", "link": "https://example.org/p1"},
    ]
)
LAST_MODIFIED = "Mon, 01 Jan 2024 00:00:00 GMT"
PUBLIC_IP = "93.184.215.14"


class FakeResolver:
    """Maps host names to address lists; unknown names fail like getaddrinfo does."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self.table = dict(table)
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])


RESOLVER_TABLE = {
    "feeds.example.org": [PUBLIC_IP],
    "evil.example": ["127.0.0.1"],
    "localhost": ["127.0.0.1", "::1"],
    "feeds.test": ["127.0.0.1"],
}


class RawServer:
    """A local aiohttp server answering every request with `answer`; records the requests."""

    def __init__(self, answer: Callable[[web.Request], web.StreamResponse]) -> None:
        self.answer = answer
        self.seen: list[web.Request] = []
        self.port = 0

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(request)
        return self.answer(request)

    async def __aenter__(self) -> RawServer:
        server = web.Server(self._handle)
        self._runner = web.ServerRunner(server)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def feed_response(request: web.Request) -> web.Response:
    return web.Response(text=FEED, headers={"Content-Type": "application/rss+xml"})


@pytest.fixture
async def srv() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


@pytest.fixture
async def fetcher() -> AsyncIterator[AiohttpFetcher]:
    async with AiohttpFetcher(allow_private=True, timeout=2.0, total_timeout=4.0) as client:
        yield client


@pytest.fixture
async def guarded() -> AsyncIterator[AiohttpFetcher]:
    """A fetcher with the SSRF guard on, the real transport, and the fake resolver."""
    resolver = FakeResolver(RESOLVER_TABLE)
    async with AiohttpFetcher(allow_private=False, timeout=2.0, resolve=resolver) as client:
        yield client


# Conditional GET


async def test_fetch_returns_body_and_validators(srv: FeedServer, fetcher: AiohttpFetcher) -> None:
    """A 200 gives the body, content type, validators, status and URL."""
    srv.add("/feed.xml", FEED, etag='"v1"', last_modified=LAST_MODIFIED)

    actual = await fetcher.fetch(srv.url("/feed.xml"))

    expected = Retrieved(
        url=srv.url("/feed.xml"),
        content=FEED.encode(),
        content_type="application/rss+xml; charset=utf-8",
        etag='"v1"',
        last_modified=LAST_MODIFIED,
        status=200,
        permanent_url=srv.url("/feed.xml"),
    )
    assert actual == expected


async def test_fetch_with_etag_gets_not_modified(srv: FeedServer, fetcher: AiohttpFetcher) -> None:
    """Sending the ETag from the first fetch makes the second one a 304."""
    srv.add("/feed.xml", FEED, etag='"v1"')
    first = await fetcher.fetch(srv.url("/feed.xml"))
    assert isinstance(first, Retrieved)

    actual = await fetcher.fetch(srv.url("/feed.xml"), etag=first.etag)

    assert actual == NotModified(
        url=srv.url("/feed.xml"),
        etag='"v1"',
        last_modified=None,
        permanent_url=srv.url("/feed.xml"),
    )


async def test_max_age_is_carried_on_200_and_304(srv: FeedServer, fetcher: AiohttpFetcher) -> None:
    """Cache-Control max-age comes back on both answers; max-age=0 or junk is no ask."""
    srv.add("/feed.xml", FEED, etag='"v1"', headers={"Cache-Control": "public, Max-Age=900"})
    srv.add("/zero.xml", FEED, headers={"Cache-Control": "max-age=0"})
    srv.add("/junk.xml", FEED, headers={"Cache-Control": "max-age=soon"})
    first = await fetcher.fetch(srv.url("/feed.xml"))
    second = await fetcher.fetch(srv.url("/feed.xml"), etag='"v1"')
    zero = await fetcher.fetch(srv.url("/zero.xml"))
    junk = await fetcher.fetch(srv.url("/junk.xml"))
    assert (
        type(second).__name__,
        first.max_age,
        second.max_age,
        zero.max_age,
        junk.max_age,
    ) == ("NotModified", 900, 900, None, None)


async def test_fetch_with_last_modified_gets_not_modified(
    srv: FeedServer, fetcher: AiohttpFetcher
) -> None:
    """Sending Last-Modified back as If-Modified-Since makes the fetch a 304."""
    srv.add("/feed.xml", FEED, last_modified=LAST_MODIFIED)

    actual = await fetcher.fetch(srv.url("/feed.xml"), last_modified=LAST_MODIFIED)

    assert actual == NotModified(
        url=srv.url("/feed.xml"),
        etag=None,
        last_modified=LAST_MODIFIED,
        permanent_url=srv.url("/feed.xml"),
    )


async def test_fetch_sees_a_replaced_body(srv: FeedServer, fetcher: AiohttpFetcher) -> None:
    """After the feed gains a post, the old ETag no longer matches and the new body comes back."""
    srv.add("/feed.xml", FEED, etag='"v1"')
    await fetcher.fetch(srv.url("/feed.xml"))
    srv.add("/feed.xml", NEWER_FEED, etag='"v2"')

    actual = await fetcher.fetch(srv.url("/feed.xml"), etag='"v1"')

    assert isinstance(actual, Retrieved)
    assert (actual.content, actual.etag) == (NEWER_FEED.encode(), '"v2"')


async def test_fetch_sends_identifying_headers() -> None:
    """Requests carry the bot's User-Agent and prefer feed media types."""
    async with RawServer(feed_response) as raw, AiohttpFetcher(allow_private=True) as fetcher:
        await fetcher.fetch(raw.url("/feed.xml"))

    headers = raw.seen[0].headers
    assert headers["User-Agent"].startswith(f"CampaignActionBot/{__version__} (+https://")
    assert headers["Accept"].startswith("application/rss+xml, application/atom+xml")


async def test_fetch_keeps_no_cookies() -> None:
    """A cookie set by one response is not sent with the next request."""

    def answer(request: web.Request) -> web.Response:
        return web.Response(text=FEED, headers={"Set-Cookie": "session=abc; Path=/"})

    async with RawServer(answer) as raw, AiohttpFetcher(allow_private=True) as fetcher:
        await fetcher.fetch(raw.url("/feed.xml"))
        await fetcher.fetch(raw.url("/feed.xml"))

    assert len(raw.seen) == 2
    assert "Cookie" not in raw.seen[1].headers


# Time limits


async def test_fetch_times_out_on_a_hanging_path(srv: FeedServer) -> None:
    """A server that never answers fails the fetch after the read timeout."""
    srv.hang("/feed.xml")
    async with AiohttpFetcher(allow_private=True, timeout=0.3) as fetcher:
        with pytest.raises(FeedFetchError, match=r"timed out after 0\.3 s"):
            await fetcher.fetch(srv.url("/feed.xml"))


async def test_fetch_deadline_cuts_a_trickling_path(srv: FeedServer) -> None:
    """A server that sends a little now and then is cut off by the total deadline."""
    srv.trickle("/feed.xml", b"<rss>", count=1000, interval=0.05)
    async with AiohttpFetcher(allow_private=True, timeout=1.0, total_timeout=0.3) as fetcher:
        with pytest.raises(FeedFetchError, match=r"timed out after 0\.3 s \(whole fetch\)"):
            await fetcher.fetch(srv.url("/feed.xml"))


# Redirects


async def test_fetch_follows_redirects_to_the_final_url(
    srv: FeedServer, fetcher: AiohttpFetcher
) -> None:
    """Redirects (301, 302, 307, 308) are followed and the final URL is returned."""
    srv.redirect("/a", "/b", status=301)
    srv.redirect("/b", srv.url("/c"), status=302)
    srv.redirect("/c", "/d", status=307)
    srv.redirect("/d", "/feed.xml", status=308)
    srv.add("/feed.xml", FEED)

    actual = await fetcher.fetch(srv.url("/a"))

    assert isinstance(actual, Retrieved)
    assert actual.url == srv.url("/feed.xml")


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ((301,), "/b"),
        ((308,), "/b"),
        ((302,), "/a"),
        ((303,), "/a"),
        ((307,), "/a"),
        ((301, 308), "/c"),
        ((301, 302), "/b"),
        ((302, 301), "/a"),
        ((301, 307, 301), "/b"),
    ],
)
async def test_fetch_permanent_url_follows_only_the_leading_permanent_redirects(
    srv: FeedServer, fetcher: AiohttpFetcher, statuses: tuple[int, ...], expected: str
) -> None:
    """The URL to keep moves along 301/308 hops up to the first temporary redirect."""
    hops = ["/a", "/b", "/c", "/d"][: len(statuses) + 1]
    for here, there, status in zip(hops, hops[1:], statuses, strict=False):
        srv.redirect(here, there, status=status)
    srv.add(hops[-1], FEED)

    actual = await fetcher.fetch(srv.url("/a"))

    assert isinstance(actual, Retrieved)
    assert (actual.url, actual.permanent_url) == (srv.url(hops[-1]), srv.url(expected))


async def test_fetch_refuses_a_sixth_redirect(srv: FeedServer, fetcher: AiohttpFetcher) -> None:
    """Six redirects in a row are one too many; the sixth hop is never requested."""
    for n in range(6):
        srv.redirect(f"/r{n}", f"/r{n + 1}")
    srv.add("/r6", FEED)

    with pytest.raises(FeedFetchError, match=r"too many redirects \(more than 5\)"):
        await fetcher.fetch(srv.url("/r0"))
    assert srv.hits("/r6") == 0


async def test_fetch_refuses_a_redirect_loop(srv: FeedServer, fetcher: AiohttpFetcher) -> None:
    """A redirect back to an earlier hop is reported as a loop."""
    srv.redirect("/a", "/b")
    srv.redirect("/b", "/a")

    with pytest.raises(FeedFetchError, match=r"redirect loop: .*/a -> .*/b -> .*/a"):
        await fetcher.fetch(srv.url("/a"))


# Size cap and decoding


async def test_fetch_refuses_a_streaming_body_over_the_cap(srv: FeedServer) -> None:
    """A body without Content-Length is cut off once it passes the cap."""
    srv.huge("/feed.xml", size=50 * 1024 * 1024)
    async with AiohttpFetcher(allow_private=True, max_bytes=64 * 1024, timeout=2.0) as fetcher:
        with pytest.raises(FeedFetchError, match=r"too large: the body is over .* 65536 bytes"):
            await fetcher.fetch(srv.url("/feed.xml"))


async def test_fetch_closes_the_connection_of_an_oversize_body(srv: FeedServer) -> None:
    """After refusing an oversize body the connection is closed, not drained."""
    srv.huge("/feed.xml", size=50 * 1024 * 1024)
    async with AiohttpFetcher(allow_private=True, max_bytes=64 * 1024, timeout=2.0) as fetcher:
        with pytest.raises(FeedFetchError):
            await fetcher.fetch(srv.url("/feed.xml"))

        async with asyncio.timeout(2):
            await srv.wait_aborted("/feed.xml")
    assert srv.aborts("/feed.xml") == 1


async def test_fetch_refuses_a_large_content_length_early() -> None:
    """A declared Content-Length above the cap is refused before the body is read."""

    def answer(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 2048)

    async with (
        RawServer(answer) as raw,
        AiohttpFetcher(allow_private=True, max_bytes=1024) as fetcher,
    ):
        with pytest.raises(FeedFetchError, match="Content-Length 2048 bytes is over"):
            await fetcher.fetch(raw.url("/feed.xml"))


async def test_fetch_decompresses_gzip(srv: FeedServer, fetcher: AiohttpFetcher) -> None:
    """A gzip-encoded body comes back decompressed."""
    srv.add("/feed.xml", gzip.compress(FEED.encode()), headers={"Content-Encoding": "gzip"})

    actual = await fetcher.fetch(srv.url("/feed.xml"))

    assert isinstance(actual, Retrieved)
    assert actual.content == FEED.encode()


async def test_fetch_refuses_a_gzip_bomb(srv: FeedServer) -> None:
    """A small compressed body that inflates past the cap is refused."""
    bomb = gzip.compress(b"\0" * (8 * 1024 * 1024))
    srv.add("/feed.xml", bomb, headers={"Content-Encoding": "gzip"})
    async with AiohttpFetcher(allow_private=True, max_bytes=1024 * 1024) as fetcher:
        with pytest.raises(FeedFetchError, match="too large: the body"):
            await fetcher.fetch(srv.url("/feed.xml"))


async def test_fetch_refuses_an_unknown_content_encoding() -> None:
    """A body in an encoding we did not ask for is an error, not garbage."""

    def answer(request: web.Request) -> web.Response:
        return web.Response(body=b"\x8b\x02\x80", headers={"Content-Encoding": "br"})

    async with RawServer(answer) as raw, AiohttpFetcher(allow_private=True) as fetcher:
        with pytest.raises(FeedFetchError, match="unsupported Content-Encoding 'br'"):
            await fetcher.fetch(raw.url("/feed.xml"))


# HTTP and network errors


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (404, "HTTP 404 Not Found"),
        (500, "HTTP 500 Internal Server Error"),
        (503, "HTTP 503 Service Unavailable"),
    ],
)
async def test_fetch_reports_http_errors_with_status(
    srv: FeedServer, fetcher: AiohttpFetcher, status: int, message: str
) -> None:
    """An error status becomes FeedFetchError carrying the status and a readable line."""
    srv.error("/feed.xml", status)

    with pytest.raises(FeedFetchError) as caught:
        await fetcher.fetch(srv.url("/feed.xml"))

    assert (caught.value.message, caught.value.status) == (message, status)


async def test_fetch_reports_a_refused_connection_readably(fetcher: AiohttpFetcher) -> None:
    """A closed port gives a one-line 'could not connect' error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(FeedFetchError, match=r"^could not connect: .*\(http://127") as caught:
        await fetcher.fetch(f"http://127.0.0.1:{port}/feed.xml")
    assert "\n" not in str(caught.value)


async def test_fetch_reports_an_unknown_host_readably() -> None:
    """A name that does not resolve says so in one line."""
    async with AiohttpFetcher(allow_private=True, resolve=FakeResolver({})) as fetcher:
        with pytest.raises(
            FeedFetchError,
            match=r"could not connect: cannot resolve nowhere\.example: Name or service not known",
        ):
            await fetcher.fetch("http://nowhere.example/feed.xml")


# URL syntax


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/feed.xml",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "example.org/feed.xml",
        "http:///feed.xml",
        "http://user:secret@example.org/feed.xml",
        "https://token@example.org/feed.xml",
    ],
)
async def test_fetch_refuses_bad_urls_before_any_io(url: str) -> None:
    """Non-http(s) schemes, missing hosts and credentials are refused without a request."""
    resolver = FakeResolver(RESOLVER_TABLE)
    async with AiohttpFetcher(allow_private=True, resolve=resolver) as fetcher:
        with pytest.raises(FeedRefusedError):
            await fetcher.fetch(url)
    assert resolver.calls == []


def test_check_url_syntax_normalises() -> None:
    """Whitespace and the fragment go; scheme and host are lower-cased."""
    actual = check_url_syntax("  HTTPS://Campaign.Example.ORG/news/feed.xml?lang=en#top ")

    assert actual == "https://campaign.example.org/news/feed.xml?lang=en"


def test_check_url_syntax_refuses_private_literals_when_asked() -> None:
    """With allow_private=False a literal loopback host is refused without I/O."""
    with pytest.raises(FeedRefusedError, match="loopback"):
        check_url_syntax("http://127.0.0.1/feed.xml", allow_private=False)


# SSRF guard


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("localhost", "loopback"),
        ("evil.example", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "shared"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (a URL host under test, not a bind address)
        ("224.0.0.1", "multicast"),
        ("[::1]", "loopback"),
        ("[::ffff:127.0.0.1]", "loopback"),
        ("[::ffff:169.254.169.254]", "link-local"),
        ("[fe80::1]", "link-local"),
        ("[fc00::1]", "private"),
        ("127.1", "loopback"),
        ("2130706433", "loopback"),
        ("0x7f.0.0.1", "loopback"),
    ],
)
async def test_fetch_refuses_non_public_hosts(
    guarded: AiohttpFetcher, host: str, kind: str
) -> None:
    """Hosts that are, or resolve to, non-public addresses are refused with a hint."""
    with pytest.raises(FeedRefusedError, match=f"{kind}.*ALLOW_PRIVATE_FEED_URLS=true"):
        await guarded.fetch(f"http://{host}/feed.xml")


async def test_fetch_refuses_a_name_for_loopback_at_connect_time(srv: FeedServer) -> None:
    """A name resolving to loopback is refused at connect time; nothing reaches the server."""
    srv.add("/feed.xml", FEED)
    resolver = FakeResolver(RESOLVER_TABLE)
    async with AiohttpFetcher(allow_private=False, resolve=resolver) as fetcher:
        with pytest.raises(FeedRefusedError, match=r"evil\.example resolves to 127\.0\.0\.1"):
            await fetcher.fetch(f"http://evil.example:{srv.port}/feed.xml")

    assert (resolver.calls, srv.hits("/feed.xml")) == (["evil.example"], 0)


async def test_fetch_connects_through_the_guarded_backend(srv: FeedServer) -> None:
    """The real transport resolves with the injected resolver and connects to that address."""
    srv.add("/feed.xml", FEED)
    resolver = FakeResolver(RESOLVER_TABLE)
    async with AiohttpFetcher(allow_private=True, resolve=resolver) as fetcher:
        actual = await fetcher.fetch(f"http://feeds.test:{srv.port}/feed.xml")

    assert isinstance(actual, Retrieved)
    assert (resolver.calls, srv.hits("/feed.xml")) == (["feeds.test"], 1)


async def test_resolver_returns_only_the_validated_addresses() -> None:
    """The connector's resolver resolves once and hands aiohttp the IPs it checked."""
    resolver = FakeResolver(RESOLVER_TABLE)
    guard = GuardedResolver(resolve=resolver, allow_private=False)

    answers = await guard.resolve("feeds.example.org", 443)

    assert (resolver.calls, [a["host"] for a in answers]) == (["feeds.example.org"], [PUBLIC_IP])
    assert answers[0]["hostname"] == "feeds.example.org"  # TLS checks the name, not the IP


async def test_resolver_refuses_when_any_address_is_private() -> None:
    """One private address among public ones is enough to refuse."""
    resolver = FakeResolver({"mixed.example": [PUBLIC_IP, "10.1.2.3"]})
    guard = GuardedResolver(resolve=resolver, allow_private=False)

    with pytest.raises(FeedRefusedError, match=r"resolves to 10\.1\.2\.3, a private"):
        await guard.resolve("mixed.example", 443)


@pytest.mark.parametrize(
    "location",
    [
        "http://evil.example/feed.xml",
        "http://127.0.0.1/feed.xml",
        "http://[::1]/feed.xml",
        "http://[::ffff:127.0.0.1]/feed.xml",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
async def test_fetch_refuses_a_redirect_to_a_private_host(location: str) -> None:
    """A public feed redirecting to a private address is refused before the second request."""

    def answer(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": location})

    resolver = FakeResolver(RESOLVER_TABLE)
    async with RawServer(answer) as raw:
        fetcher = AiohttpFetcher(
            allow_private=False, connector=routed_connector(raw.port), resolve=resolver
        )
        async with fetcher:
            with pytest.raises(FeedRefusedError, match=r"redirect to .* refused: .*ALLOW_PRIVATE"):
                await fetcher.fetch("http://feeds.example.org/feed.xml")

    assert [str(request.url) for request in raw.seen] == ["http://feeds.example.org/feed.xml"]


async def test_fetch_refuses_a_private_name_with_an_injected_connector() -> None:
    """With an injected connector the guard still resolves and checks the first hop."""
    resolver = FakeResolver(RESOLVER_TABLE)
    async with RawServer(feed_response) as raw:
        fetcher = AiohttpFetcher(
            allow_private=False, connector=routed_connector(raw.port), resolve=resolver
        )
        async with fetcher:
            with pytest.raises(FeedRefusedError, match=r"evil\.example resolves to 127\.0\.0\.1"):
                await fetcher.fetch("http://evil.example/feed.xml")

    assert raw.seen == []


async def test_fetch_allows_a_public_host() -> None:
    """A host resolving to a public address is fetched (routed to a local server)."""
    resolver = FakeResolver(RESOLVER_TABLE)
    async with RawServer(feed_response) as raw:
        fetcher = AiohttpFetcher(
            allow_private=False, connector=routed_connector(raw.port), resolve=resolver
        )
        async with fetcher:
            actual = await fetcher.fetch("http://feeds.example.org/feed.xml")

    assert isinstance(actual, Retrieved)
    assert actual.content == FEED.encode()


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1/feed.xml",
        "http://[::1]/feed.xml",
        "http://[::ffff:127.0.0.1]/feed.xml",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_redirect_targets_on_literal_private_addresses_are_refused(location: str) -> None:
    """Every hop goes through check_url_syntax, which refuses literal non-public addresses."""
    with pytest.raises(FeedRefusedError, match="ALLOW_PRIVATE"):
        check_url_syntax(location, allow_private=False)


# The FeedServer itself


async def test_feedserver_counts_hits_per_path(srv: FeedServer, fetcher: AiohttpFetcher) -> None:
    """Every request to a path is counted, 304s included."""
    srv.add("/feed.xml", FEED, etag='"v1"')

    await fetcher.fetch(srv.url("/feed.xml"))
    await fetcher.fetch(srv.url("/feed.xml"), etag='"v1"')

    assert (srv.hits("/feed.xml"), srv.hits("/other.xml")) == (2, 0)


async def test_feedserver_release_lets_a_hanging_path_answer(
    srv: FeedServer, fetcher: AiohttpFetcher
) -> None:
    """After release, a hanging path serves what was added to it."""
    srv.add("/feed.xml", FEED)
    srv.hang("/feed.xml")
    pending = asyncio.create_task(fetcher.fetch(srv.url("/feed.xml")))

    srv.release("/feed.xml")
    actual = await pending

    assert isinstance(actual, Retrieved)
    assert actual.content == FEED.encode()


async def test_feedserver_html_points_at_the_feed(
    srv: FeedServer, fetcher: AiohttpFetcher
) -> None:
    """The HTML page carries a rel=alternate link to the feed path."""
    srv.html_with_alternate("/", "/feed.xml")

    actual = await fetcher.fetch(srv.url("/"))

    assert isinstance(actual, Retrieved)
    assert b'rel="alternate" type="application/rss+xml" title="News" href="/feed.xml"' in (
        actual.content
    )


def test_rss_builds_items_with_all_fields() -> None:
    """The rss() helper writes every item field into a well-formed RSS 2.0 document."""
    document = rss(
        [
            {
                "title": "Act <now>",
                "link": "https://example.org/a",
                "guid": "a-1",
                "description": "<p>Sign the petition</p>",
                "categories": ["torture", "petitions"],
                "pubDate": "Mon, 01 Jan 2024 10:00:00 GMT",
            }
        ],
        title="Campaign news",
    )

    item = ET.fromstring(document).find("channel/item")  # noqa: S314 (our own document)
    assert item is not None
    actual = {
        "title": item.findtext("title"),
        "description": item.findtext("description"),
        "guid": item.findtext("guid"),
        "categories": [category.text for category in item.findall("category")],
        "pubDate": item.findtext("pubDate"),
    }
    assert actual == {
        "title": "Act <now>",
        "description": "<p>Sign the petition</p>",
        "guid": "a-1",
        "categories": ["torture", "petitions"],
        "pubDate": "Mon, 01 Jan 2024 10:00:00 GMT",
    }


# -- post images (ImageGuard) ---------------------------------------------------------------


async def test_image_guard_drops_literal_private_hosts_even_when_private_feeds_are_allowed() -> (
    None
):
    """With ALLOW_PRIVATE_FEED_URLS on, nothing is looked up, but a literal non-public
    address, localhost, a non-http(s) scheme, credentials or an overlong URL still go."""
    looked_up: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["10.0.0.1"]

    guard = ImageGuard(allow_private=True, resolve=resolve)
    urls = {
        "https://cdn.example.org/a.jpg",
        "http://127.0.0.1/a.jpg",
        "http://169.254.169.254/latest/a.jpg",
        "http://0x7f.1/a.jpg",
        "http://[::ffff:10.0.0.1]/a.jpg",
        "http://app.localhost/a.jpg",
        "file:///etc/a.jpg",
        "https://user:pw@cdn.example.org/a.jpg",
        "https://cdn.example.org/" + "a" * 2100 + ".jpg",
    }
    assert (await guard.allowed(urls), looked_up) == ({"https://cdn.example.org/a.jpg"}, [])


async def test_image_guard_resolves_each_host_once_and_remembers_it() -> None:
    """Private feeds off: a host is looked up once for all its images and for later polls
    within the TTL; one resolving to a private address, or not at all, is dropped."""
    looked_up: list[str] = []
    now = [0.0]
    answers = {"cdn.example.org": ["93.184.216.34"], "evil.example.org": ["192.168.0.9"]}

    async def resolve(host: str, port: int) -> list[str]:
        looked_up.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return answers[host]

    guard = ImageGuard(allow_private=False, resolve=resolve, monotonic=lambda: now[0])
    urls = [f"https://{h}/{n}.jpg" for h in (*answers, "gone.example.org") for n in (1, 2)]
    first = await guard.allowed(urls)
    second = await guard.allowed(urls)
    now[0] += 601  # the verdicts expire
    await guard.allowed(urls[:1])
    assert first == second == {"https://cdn.example.org/1.jpg", "https://cdn.example.org/2.jpg"}
    assert sorted(looked_up) == sorted([*answers, "gone.example.org", "cdn.example.org"])
