"""Tracked links: the key that signs them, and following one (redirect target, click count).

The key is LINK_SECRET when set; otherwise 32 random bytes made on first use and kept in
`bot_state`, so links sent before a restart still work after it. A followed link is resolved
from its token alone (the message kind and id travel in it): the post's URL or the broadcast's
action URL. Counting a click is one UPDATE of its delivery row (`clicks + 1`, the first click's
time if still empty); nothing else about the request (address, user agent, time of later
clicks) is stored or logged. Must not: know about HTTP or log secrets or tokens.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import secrets

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.repos import BroadcastRepo, DeliveryRepo, PostRepo, StateRepo
from bot.domain.clock import Clock
from bot.domain.links import LinkSigner, LinkTarget, TrackedLinks
from bot.errors import ConfigError
from bot.render.text import safe_url

log = logging.getLogger(__name__)

# The bot_state key of the generated link key (base64url of 32 random bytes).
SECRET_STATE_KEY = "link_secret"  # noqa: S105 - a key name, not a secret
GENERATED_KEY_BYTES = 32


class TrackingService:
    """Signs tracked links and follows them."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        public_url: str | None,
        secret: str | None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self.public_url = public_url
        self._secret = secret
        self._signer: LinkSigner | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"TrackingService(public_url={self.public_url!r})"

    async def signer(self) -> LinkSigner:
        """The link signer; the first call reads (or makes and stores) the generated key.

        Raises:
            ConfigError: the stored key is damaged (and LINK_SECRET is not set).
        """
        if self._signer is None:
            async with self._lock:
                if self._signer is None:
                    self._signer = LinkSigner(await self._key())
        return self._signer

    async def _key(self) -> bytes:
        if self._secret is not None:
            return self._secret.encode("utf-8")
        fresh = base64.urlsafe_b64encode(secrets.token_bytes(GENERATED_KEY_BYTES)).decode()
        async with self._sessionmaker.begin() as session:
            stored = await StateRepo(session).set_if_absent(SECRET_STATE_KEY, fresh)
        try:
            key = base64.urlsafe_b64decode(stored.encode())
        except (binascii.Error, ValueError):
            key = b""
        if len(key) < GENERATED_KEY_BYTES:  # someone edited the row: never sign with a weak key
            raise ConfigError(
                "LINK_SECRET",
                f"the link key the bot stored (bot_state {SECRET_STATE_KEY!r}) is damaged: "
                "set LINK_SECRET, or delete that row to make a new key (links sent break)",
            )
        if stored == fresh:
            log.info("link key generated and stored")
        return key

    async def tracked_links(self) -> TrackedLinks | None:
        """What makes tracked links for the delivery engine, or None without PUBLIC_URL."""
        if self.public_url is None:
            return None
        return TrackedLinks(self.public_url, await self.signer())

    async def follow(self, token: str, *, count: bool) -> str | None:
        """The URL a tracked link leads to, counting a click if `count`; None if none.

        None for a token this bot did not sign, a message that no longer exists or has no
        usable link. A valid token whose delivery row is gone (retention, /forgetme) still
        leads to the URL, without counting; so does every token once PUBLIC_URL is unset
        (tracking turned off: nothing about clicks is stored any more).
        """
        target = (await self.signer()).verify(token)
        if target is None:
            return None
        async with self._sessionmaker.begin() as session:
            url = await self._destination(session, target)
            # Tracking off (no PUBLIC_URL): links sent before still lead on, counted no more.
            if url is not None and count and self.public_url is not None:
                await DeliveryRepo(session).record_click(
                    target.delivery_id,
                    post_id=target.message_id if target.kind == "post" else None,
                    broadcast_id=target.message_id if target.kind == "broadcast" else None,
                    now=self._clock.now(),
                )
        return url

    @staticmethod
    async def _destination(session: AsyncSession, target: LinkTarget) -> str | None:
        if target.kind == "post":
            post = await PostRepo(session).get(target.message_id)
            return None if post is None else safe_url(post.url)
        broadcast = await BroadcastRepo(session).get(target.message_id)
        return None if broadcast is None else safe_url(broadcast.action_url)
