"""An aiohttp connector that sends every host name to one local port (the fetcher's tests).

`AiohttpFetcher(connector=routed_connector(port))` lets a test fetch `http://feeds.example.org/`
from a server on 127.0.0.1 while the fetcher's SSRF guard checks the hop's name with its own
(fake) resolver, as it does for any injected connector.
"""

from __future__ import annotations

import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult


class _ToLocalPort(AbstractResolver):
    def __init__(self, port: int) -> None:
        self.port = port

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=self.port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


def routed_connector(port: int) -> aiohttp.TCPConnector:
    """A connector that connects every host name to 127.0.0.1:`port`."""
    return aiohttp.TCPConnector(resolver=_ToLocalPort(port), use_dns_cache=False)
