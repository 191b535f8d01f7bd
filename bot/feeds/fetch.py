"""Retrieve a feed's bytes over HTTP, politely and defensively.

Owns: conditional GET (ETag / Last-Modified -> `NotModified`), redirects followed by hand so every
hop is checked (and the URL a feed has permanently moved to is told apart from where it is served
today), per-operation timeouts plus a total deadline per fetch, a size cap enforced while
streaming (gzip/deflate included, so a small compressed body cannot inflate past the cap), and the
SSRF guard that refuses feed hosts on loopback, private, link-local and other non-public addresses.
Every failure leaves as `FeedFetchError` (or `FeedRefusedError`) with one readable line.

Must not: parse feeds, decide schedules, touch the database or Telegram. Imports aiohttp/yarl,
certifi, `bot.errors` and the standard library only.

SSRF design. The guard lives in `GuardedResolver`, the aiohttp resolver of the fetcher's
`TCPConnector` (DNS cache off): it resolves the host once, refuses if *any* address is not
public, and the connector then connects only to the addresses it validated, so DNS rebinding
cannot slip a private address in between check and connect. TLS still verifies the original
host name (aiohttp passes it as `server_hostname`). Literal IP hosts, which aiohttp does not
resolve (including legacy spellings like `127.1` or `2130706433`), are refused by
`check_url_syntax` before any I/O, on the first URL and on every redirect hop. When a caller
injects its own connector (tests route names to a local server) the resolver is bypassed, so
each hop is checked at URL level by resolving its host first; that path has a check-then-use
gap and is meant for tests only. Not covered: HTTP proxies (trust_env is off, none are used).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Protocol, Self

import aiohttp
import certifi
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

from bot import __version__
from bot.errors import FeedFetchError, FeedRefusedError

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_TIMEOUT = 20.0
DEFAULT_TOTAL_TIMEOUT = 60.0
DEFAULT_MAX_REDIRECTS = 5
MAX_CONNECTIONS = 50

PROJECT_URL = "https://github.com/campaign-action-bot/campaign-action-bot"
USER_AGENT = f"CampaignActionBot/{__version__} (+{PROJECT_URL})"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, text/html;q=0.3, */*;q=0.1"
)
# Only encodings `_Inflater` can decode within the cap (no br/zstd).
ACCEPT_ENCODING = "gzip, deflate"

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# RFC 9110 15.4: only these say "use the new URL from now on"; 302, 303 and 307 are for this time.
PERMANENT_REDIRECT_STATUSES = frozenset({301, 308})
_ALLOW_HINT = "set ALLOW_PRIVATE_FEED_URLS=true to allow feeds on such hosts"
_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Resolve `(host, port)` to IP address strings; the default is the event loop's getaddrinfo."""


@dataclass(frozen=True, slots=True)
class Retrieved:
    """A feed body as the server sent it (decompressed), with its caching validators.

    `url` is where the body came from (after every redirect; relative links resolve against
    it). `permanent_url` is the URL to fetch next time: the requested URL moved along the
    unbroken run of permanent redirects (301, 308) it starts with. The first temporary redirect
    (302, 303, 307) ends the run, so `/a -301-> /b -302-> /c` gives `/b`, and
    `/a -302-> /b -301-> /c` gives `/a` (only `/a`'s owner may move `/a`, and it said "for now").
    """

    url: str
    content: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    status: int
    permanent_url: str
    # Cache-Control max-age in seconds (how long the answer stays fresh), None if not given.
    max_age: int | None = None


@dataclass(frozen=True, slots=True)
class NotModified:
    """The server answered 304: the feed is unchanged since the validators we sent.

    `url`, `permanent_url` and `max_age` mean what they mean in `Retrieved`.
    """

    url: str
    etag: str | None
    last_modified: str | None
    permanent_url: str
    max_age: int | None = None


class Fetcher(Protocol):
    """Retrieve one feed URL, conditionally."""

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Retrieved | NotModified:
        """Fetch `url`, sending the validators from the previous fetch if any.

        Raises:
            FeedRefusedError: The URL or an address it leads to is not allowed.
            FeedFetchError: Anything else went wrong (network, HTTP status, size, time).
        """
        ...


async def resolve_host(host: str, port: int) -> list[str]:
    """Resolve `host` with the event loop's getaddrinfo; return the IP addresses in order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]


def describe_address(address: IPAddress) -> str | None:
    """Name the kind of non-public address `address` is, or return None when it is public.

    IPv4 addresses embedded in IPv6 (IPv4-mapped, 6to4, NAT64, Teredo) are judged by the
    embedded address, so `::ffff:127.0.0.1` counts as loopback.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return describe_address(embedded)
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address in _SHARED_ADDRESS_SPACE, "shared (carrier-grade NAT)"),
        (address.is_private, "private"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "reserved"),
    )
    return next((name for hit, name in checks if hit), None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address an IPv6 transition form carries, if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def parse_ip_literal(host: str) -> IPAddress | None:
    """Return the address a URL host spells literally, or None for a host name.

    Accepts the legacy IPv4 spellings that resolvers accept too (`127.1`, `0x7f.0.0.1`,
    `2130706433`), so they cannot sneak past the guard as "names". No I/O.
    """
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if bare and all(char in "0123456789abcdefx." for char in bare.lower()) and bare[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    return None


def check_url_syntax(url: str, *, allow_private: bool = True) -> str:
    """Return `url` normalised, or refuse it without doing any I/O.

    Refuses schemes other than http/https, URLs without a host, URLs with a user name or
    password and, when `allow_private` is false, hosts that are literal non-public addresses
    or the loopback names `localhost` and `*.localhost`.
    The fragment is dropped; scheme and host are lower-cased.

    Raises:
        FeedRefusedError: The URL is not acceptable; the message says why.
    """
    text = url.strip()
    try:
        parsed = yarl.URL(text)
        host = parsed.host
    except (ValueError, TypeError) as exc:
        raise FeedRefusedError(url, f"not a valid URL: {exc}") from None
    if parsed.scheme.lower() not in ("http", "https"):
        raise FeedRefusedError(url, "only http:// and https:// feed URLs are allowed")
    if not host or not parsed.is_absolute():
        raise FeedRefusedError(url, "the URL has no host name")
    if parsed.raw_user or parsed.raw_password:
        # Never repeat the credentials in an error (it reaches logs and chat).
        shown = str(parsed.with_user(None))
        raise FeedRefusedError(shown, "URLs with a user name or password are not allowed")
    if not allow_private:
        address = parse_ip_literal(host)
        kind = describe_address(address) if address is not None else None
        if kind is not None:
            raise FeedRefusedError(url, f"{address} is a {kind} address; {_ALLOW_HINT}")
        bare = host.rstrip(".").lower()
        if bare == "localhost" or bare.endswith(".localhost"):  # RFC 6761: always loopback
            raise FeedRefusedError(url, f"{bare} is a loopback name; {_ALLOW_HINT}")
    return str(parsed.with_scheme(parsed.scheme.lower()).with_fragment(None))


def _refusal(host: str, address: IPAddress, kind: str) -> str:
    """Word the SSRF refusal for `host`, which is or resolved to `address`."""
    if parse_ip_literal(host) is None:
        return f"{host} resolves to {address}, a {kind} address; {_ALLOW_HINT}"
    return f"{address} is a {kind} address; {_ALLOW_HINT}"


async def _resolve_checked(
    host: str, port: int, resolve: Resolver, *, allow_private: bool
) -> list[IPAddress]:
    """Resolve `host` and validate every address (unless private ones are allowed).

    Raises:
        FeedRefusedError: One of the addresses is not public (its `url` is the host;
            `AiohttpFetcher.fetch` re-raises it with the feed URL).
        socket.gaierror: The name does not resolve.
    """
    literal = parse_ip_literal(host)
    raw = [str(literal)] if literal is not None else await resolve(host, port)
    addresses = list(dict.fromkeys(ipaddress.ip_address(item.split("%")[0]) for item in raw))
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, "no addresses")
    if not allow_private:
        for address in addresses:
            kind = describe_address(address)
            if kind is not None:
                raise FeedRefusedError(host, _refusal(host, address, kind))
    return addresses


# A post image's host is resolved at most once in this many seconds, within this many.
IMAGE_HOST_TTL = 600.0
IMAGE_RESOLVE_TIMEOUT = 3.0
IMAGE_URL_MAX = 2048


class ImageGuard:
    """Which image URLs of a feed's entries may be given to Telegram (`sendPhoto` by URL).

    Telegram downloads the image itself, so an image on a private address can only fail or
    probe a network it should not see: an http(s) URL without credentials, at most 2,048
    characters, is kept unless its host is a literal non-public address or `localhost`
    (always), or, unless `allow_private` (ALLOW_PRIVATE_FEED_URLS), resolves to a non-public
    address or does not resolve. The checks are `check_url_syntax` and the fetcher's own
    resolver and validator; each host is resolved once per call (a poll), concurrently, and
    its verdict kept for IMAGE_HOST_TTL seconds, so a feed's images cost one look-up of its
    image host every ten minutes at most, and each URL is parsed once (a feed lists the same
    entries poll after poll).
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        resolve: Resolver = resolve_host,
        timeout: float = IMAGE_RESOLVE_TIMEOUT,
        ttl: float = IMAGE_HOST_TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._allow_private = allow_private
        self._resolve = resolve
        self._timeout = timeout
        self._ttl = ttl
        self._monotonic = monotonic
        self._hosts: dict[tuple[str, int], tuple[bool, float]] = {}
        # Each URL's parse (feeds list the same entries poll after poll): host, or None.
        self._urls: dict[str, tuple[str, int] | None] = {}

    async def allowed(self, urls: Iterable[str]) -> set[str]:
        """The URLs among `urls` that may reach Telegram (see the class docstring)."""
        keep: dict[str, tuple[str, int]] = {}
        for url in set(urls):
            if url in self._urls:
                host = self._urls[url]
            else:
                host = self._host_of(url)
                if len(self._urls) >= 20_000:
                    self._urls.clear()
                self._urls[url] = host
            if host is not None:
                keep[url] = host
        if self._allow_private or not keep:
            return set(keep)
        verdicts = await self._verdicts(set(keep.values()))
        return {url for url, host in keep.items() if verdicts.get(host, False)}

    @staticmethod
    def _host_of(url: str) -> tuple[str, int] | None:
        """The (host, port) an image URL is fetched from; None if refused without a look-up.

        Refused: not http(s), credentials, over 2,048 characters, a literal non-public host.
        """
        if len(url) > IMAGE_URL_MAX:
            return None
        try:
            parsed = yarl.URL(check_url_syntax(url, allow_private=False))
        except (FeedRefusedError, ValueError):
            return None
        host = parsed.host
        if host is None:
            return None
        return host, parsed.port or (443 if parsed.scheme == "https" else 80)

    async def _verdicts(self, hosts: set[tuple[str, int]]) -> dict[tuple[str, int], bool]:
        now = self._monotonic()
        found = {h: v for h, (v, at) in self._hosts.items() if h in hosts and now - at < self._ttl}
        missing = [h for h in hosts if h not in found]
        if missing:
            answers = await asyncio.gather(*(self._public(host, port) for host, port in missing))
            if len(self._hosts) > 4096:
                self._hosts.clear()
            for host, verdict in zip(missing, answers, strict=True):
                found[host] = verdict
                self._hosts[host] = (verdict, now)
        return found

    async def _public(self, host: str, port: int) -> bool:
        """Whether every address `host` resolves to is public (False if it does not resolve)."""
        try:
            async with asyncio.timeout(self._timeout):
                await _resolve_checked(host, port, self._resolve, allow_private=False)
        except (FeedRefusedError, OSError, TimeoutError):
            return False
        return True


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that resolves once, validates every address, and returns them.

    `TCPConnector` connects only to the addresses returned here, so DNS rebinding cannot slip
    a private address in between check and connect; TLS still verifies the original host name
    (aiohttp passes it as `server_hostname`). Refusals are raised as `FeedRefusedError`
    (aiohttp passes non-OSError exceptions through). aiohttp skips the resolver for literal IP
    hosts: `check_url_syntax` refuses those before any I/O.
    """

    def __init__(self, *, resolve: Resolver = resolve_host, allow_private: bool) -> None:
        self._resolve = resolve
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve and validate `host`; an unknown name raises OSError (gaierror)."""
        addresses = await _resolve_checked(
            host, port, self._resolve, allow_private=self._allow_private
        )
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        """Nothing to release."""


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """A verifying SSL context on certifi's CA bundle, built once (loading it takes ~40 ms)."""
    return ssl.create_default_context(cafile=certifi.where())


class _Inflater:
    """Decode a gzip/deflate body chunk by chunk without producing more than asked for."""

    def __init__(self, content_encoding: str | None) -> None:
        encoding = (content_encoding or "identity").strip().lower()
        if encoding in ("", "identity"):
            self._zlib = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            # 32 + MAX_WBITS: accept a zlib or a gzip header.
            self._zlib = zlib.decompressobj(32 + zlib.MAX_WBITS)
        else:
            raise ValueError(f"unsupported Content-Encoding {content_encoding!r}")

    def feed(self, data: bytes, limit: int) -> bytes:
        """Decode `data`, returning at most `limit` bytes (more input may then stay unread)."""
        if self._zlib is None:
            return data
        return self._zlib.decompress(data, limit)

    def flush(self, limit: int) -> bytes:
        """Return what the decoder still holds, at most `limit` bytes."""
        return b"" if self._zlib is None else self._zlib.flush(limit)


class AiohttpFetcher:
    """Fetch feeds with one shared `aiohttp.ClientSession`; see the module docstring for the rules.

    Use as an async context manager, or call `aclose()` when done. The session is created on
    first use (aiohttp wants a running loop).
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = DEFAULT_TIMEOUT,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        resolve: Resolver = resolve_host,
        user_agent: str = USER_AGENT,
        connector: aiohttp.BaseConnector | None = None,
    ) -> None:
        """Remember the settings; no I/O happens until the first fetch.

        Args:
            allow_private: Allow hosts on loopback/private/link-local/... addresses
                (ALLOW_PRIVATE_FEED_URLS; for tests and intranets).
            max_bytes: Largest accepted body, after decompression.
            timeout: Seconds to connect, and seconds to wait for each piece of data.
            total_timeout: Seconds for the whole fetch, redirects included, so a server that
                trickles bytes cannot hold a fetch forever.
            max_redirects: Redirects followed before giving up.
            resolve: Host name resolver (tests map names to addresses with it).
            user_agent: The User-Agent header.
            connector: Replaces the guarded connector (tests route names to a local server
                with it); closed with the fetcher. The SSRF guard then checks each hop by
                resolving its host before the request (a check-then-use gap: tests only).
        """
        self._allow_private = allow_private
        self._connector = connector
        self._check_hops = connector is not None and not allow_private
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._total_timeout = total_timeout
        self._max_redirects = max_redirects
        self._resolve = resolve
        self._headers = {
            "User-Agent": user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = self._connector or aiohttp.TCPConnector(
                limit=MAX_CONNECTIONS,
                limit_per_host=0,
                resolver=GuardedResolver(resolve=self._resolve, allow_private=self._allow_private),
                use_dns_cache=False,  # every connection is resolved and checked afresh
                ssl=_default_ssl_context(),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                # Feeds are fetched statelessly: no cookie set by one feed reaches another.
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                auto_decompress=False,  # `_Inflater` decodes within the size cap
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=self._timeout, sock_read=self._timeout
                ),
                headers=self._headers,
            )
        return self._session

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Retrieved | NotModified:
        """Fetch `url` conditionally; see `Fetcher.fetch`."""
        start = check_url_syntax(url, allow_private=self._allow_private)
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = asyncio.timeout(self._total_timeout)
        try:
            async with deadline:
                return await self._follow(url, start, headers)
        except TimeoutError as exc:
            if deadline.expired():
                raise FeedFetchError(
                    url, f"timed out after {self._total_timeout:g} s (whole fetch)"
                ) from None
            if isinstance(exc, aiohttp.ServerTimeoutError):
                raise FeedFetchError(url, self._describe_timeout(exc)) from None
            raise
        except aiohttp.ClientError as exc:
            raise FeedFetchError(url, _describe_client_error(exc)) from None

    async def _follow(
        self, url: str, start: str, headers: dict[str, str]
    ) -> Retrieved | NotModified:
        """Request `start`, following up to `max_redirects` redirects, each hop checked."""
        chain = [start]
        current = start
        permanent = start  # where the leading run of permanent redirects has led so far
        moved_permanently = True
        session = self._client()
        for hop in range(self._max_redirects + 1):
            if self._check_hops:
                await self._check_resolved(url, current, redirected=hop > 0)
            try:
                response = await session.get(
                    yarl.URL(current, encoded=True), headers=headers, allow_redirects=False
                )
            except FeedRefusedError as exc:  # from GuardedResolver, at connect time
                raise _refused(url, current, exc, redirected=hop > 0) from None
            try:
                if response.status in _REDIRECT_STATUSES and "location" in response.headers:
                    current = self._next_hop(url, response, chain)
                    chain.append(current)
                    moved_permanently = (
                        moved_permanently and response.status in PERMANENT_REDIRECT_STATUSES
                    )
                    if moved_permanently:
                        permanent = current
                    # Read the (small) redirect body so the connection can be reused.
                    await self._drain(response)
                    continue
                result = await self._conclude(url, response, headers, permanent)
            except BaseException:
                response.close()  # a body left unread: drop the connection, not reuse it
                raise
            response.release()
            return result
        raise FeedFetchError(url, f"too many redirects (more than {self._max_redirects})")

    async def _drain(self, response: aiohttp.ClientResponse) -> None:
        """Read a redirect's body up to 64 KiB to keep the connection; else close it."""
        size = 0
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > 65536:
                response.close()
                return
        response.release()

    def _next_hop(self, url: str, response: aiohttp.ClientResponse, chain: list[str]) -> str:
        """Return the checked, absolute target of a redirect response."""
        location = response.headers["location"]
        try:
            target = str(response.url.join(yarl.URL(location)))
        except ValueError:
            raise FeedFetchError(url, f"redirect to an invalid URL {location!r}") from None
        try:
            target = check_url_syntax(target, allow_private=self._allow_private)
        except FeedRefusedError as exc:
            raise FeedRefusedError(url, f"redirect to {target} refused: {exc.message}") from None
        if target in chain:
            loop = " -> ".join([*chain[chain.index(target) :], target])
            raise FeedFetchError(url, f"redirect loop: {loop}")
        return target

    async def _check_resolved(self, url: str, current: str, *, redirected: bool) -> None:
        """URL-level SSRF check for an injected connector: resolve and validate the host."""
        target = yarl.URL(current, encoded=True)
        host = target.raw_host or ""
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            await _resolve_checked(host, port, self._resolve, allow_private=False)
        except FeedRefusedError as exc:
            raise _refused(url, current, exc, redirected=redirected) from None
        except OSError as exc:
            raise FeedFetchError(url, f"cannot resolve {host}: {_os_cause(exc)}") from None

    async def _conclude(
        self, url: str, response: aiohttp.ClientResponse, sent: dict[str, str], permanent_url: str
    ) -> Retrieved | NotModified:
        """Turn a final (non-redirect) response into the result, reading the body capped."""
        status = response.status
        etag = response.headers.get("etag")
        last_modified = response.headers.get("last-modified")
        if status == HTTPStatus.NOT_MODIFIED:
            # A 304 has no body; reading its end lets the connection go back to the pool.
            await response.read()
            return NotModified(
                url=str(response.url),
                etag=etag or sent.get("If-None-Match"),
                last_modified=last_modified or sent.get("If-Modified-Since"),
                permanent_url=permanent_url,
                max_age=cache_max_age(response.headers.get("cache-control")),
            )
        if not 200 <= status < 300:
            reason = response.reason or _reason_phrase(status)
            raise FeedFetchError(url, f"HTTP {status} {reason}".strip(), status=status)
        return Retrieved(
            url=str(response.url),
            content=await self._read_capped(url, response),
            content_type=response.headers.get("content-type"),
            etag=etag,
            last_modified=last_modified,
            status=status,
            permanent_url=permanent_url,
            max_age=cache_max_age(response.headers.get("cache-control")),
        )

    async def _read_capped(self, url: str, response: aiohttp.ClientResponse) -> bytes:
        """Read the body, raising as soon as it (decompressed) passes `max_bytes`."""
        limit = self._max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FeedFetchError(url, _too_large(f"Content-Length {declared} bytes", limit))
        try:
            inflater = _Inflater(response.headers.get("content-encoding"))
        except ValueError as exc:
            raise FeedFetchError(url, str(exc)) from None
        chunks: list[bytes] = []
        size = 0
        try:
            async for raw in response.content.iter_any():
                chunk = inflater.feed(raw, limit - size + 1)
                size += len(chunk)
                if size > limit:
                    raise FeedFetchError(url, _too_large("the body", limit))
                chunks.append(chunk)
            tail = inflater.flush(limit - size + 1)
        except zlib.error as exc:
            raise FeedFetchError(url, f"could not decompress the body: {exc}") from None
        if size + len(tail) > limit:
            raise FeedFetchError(url, _too_large("the body", limit))
        chunks.append(tail)
        return b"".join(chunks)

    def _describe_timeout(self, exc: TimeoutError) -> str:
        """Say which timeout fired and after how long."""
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return f"timed out after {self._timeout:g} s (connecting)"
        return f"timed out after {self._timeout:g} s (waiting for data)"


def cache_max_age(header: str | None) -> int | None:
    """`max-age` of a Cache-Control header in seconds; None if absent, zero or not a number."""
    for directive in (header or "").split(","):
        name, _, value = directive.strip().partition("=")
        if name.strip().lower() == "max-age":
            digits = value.strip().strip('"')
            if digits.isdigit() and len(digits) <= 10 and int(digits) > 0:
                return int(digits)
            return None
    return None


def _refused(url: str, hop: str, exc: FeedRefusedError, *, redirected: bool) -> FeedRefusedError:
    """Re-address a host-level refusal to the feed URL, naming the redirect hop if any."""
    prefix = f"redirect to {hop} refused: " if redirected else ""
    return FeedRefusedError(url, prefix + exc.message)


def _too_large(what: str, limit: int) -> str:
    """Word the size-cap error."""
    return f"response too large: {what} is over the limit of {limit} bytes"


def _reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _describe_client_error(exc: aiohttp.ClientError) -> str:
    """One short line for a network error, without traceback text."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        cause = exc.os_error
        if isinstance(cause, socket.gaierror) or isinstance(exc, aiohttp.ClientConnectorDNSError):
            return f"could not connect: cannot resolve {exc.host}: {_os_cause(cause)}"
        return f"could not connect: {_os_cause(cause)} ({exc.host}:{exc.port})"
    kinds: tuple[tuple[type[aiohttp.ClientError], str], ...] = (
        (aiohttp.ServerDisconnectedError, "the connection broke while reading"),
        (aiohttp.ClientPayloadError, "the connection broke while reading"),
        (aiohttp.ClientResponseError, "the server broke the HTTP protocol"),
        (aiohttp.ClientOSError, "the connection broke"),
    )
    label = next((text for kind, text in kinds if isinstance(exc, kind)), "network error")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{label}: {text[:200]}"


def _os_cause(exc: OSError) -> str:
    """The readable part of an OSError (resolver errors carry it in strerror)."""
    return exc.strerror or str(exc) or type(exc).__name__
