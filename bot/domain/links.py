"""Tracked links: signed, compact tokens that name one delivery, and who counts as a click.

A token is base64url (no padding) of `header · varint(delivery id) · varint(message id) · tag`:
the header byte carries the format version and the message kind (post or broadcast), the ids
are unsigned LEB128, and the tag is HMAC-SHA256 of everything before it under the link secret,
cut to 12 bytes (96 bits: guessing one is hopeless). The message kind and id travel in the
token so that a link still redirects after the retention job has deleted its delivery row.
A typical token is 26 characters.

`LinkSigner.verify` answers None for anything it did not sign: forged, truncated, altered,
padded or re-encoded tokens alike; the tag is compared in constant time. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal

LinkKind = Literal["post", "broadcast"]

TAG_BYTES = 12
# The longest token verify looks at: header, two 64-bit varints (10 bytes each), tag.
MAX_TOKEN_CHARS = 48
_VERSION = 0x10
_KINDS: dict[LinkKind, int] = {"post": 0, "broadcast": 1}
_KIND_OF_CODE = {code: kind for kind, code in _KINDS.items()}
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_MAX_ID = (1 << 63) - 1

# User agents that fetch links without a person behind them: Telegram's link-preview fetcher
# ("TelegramBot (like TwitterBot)"), other apps' preview fetchers (…bot, WhatsApp/, Slack's
# image proxy, Mastodon servers), search engines, crawlers and command-line clients. Apps' own
# in-app browsers ("Telegram-Android/11.2", "LinkedInApp", "Twitter for iPhone") are people.
_AUTOMATED_AGENT = re.compile(
    r"bot\b|bot[/_-]|crawl|spider|slurp|preview|fetcher|scraper|facebookexternalhit"
    r"|facebookcatalog|whatsapp/|slack-imgproxy|skypeuripreview|embedly|iframely|vkshare"
    r"|mastodon/|pleroma|misskey|headlesschrome|python-requests|curl/|wget/|go-http-client",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """What a token names: one delivery of one post or broadcast."""

    kind: LinkKind
    message_id: int
    delivery_id: int


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _read_varint(data: bytes, start: int) -> tuple[int, int] | None:
    """The varint at `start` and the index after it; None if cut short or not minimal."""
    value = 0
    for index in range(start, min(len(data), start + 10)):
        byte = data[index]
        value |= (byte & 0x7F) << (7 * (index - start))
        if not byte & 0x80:
            if byte == 0 and index > start:  # a needless zero byte: not our encoding
                return None
            return value, index + 1
    return None


class LinkSigner:
    """Signs and verifies link tokens with one secret key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a link key needs at least 16 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "LinkSigner(<secret>)"

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:TAG_BYTES]

    def sign(self, target: LinkTarget) -> str:
        """The token of `target`.

        Raises:
            ValueError: an id outside 1 … 2⁶³−1.
        """
        for value in (target.message_id, target.delivery_id):
            if not 0 < value <= _MAX_ID:
                raise ValueError(f"a link id must be positive and fit 64 bits, not {value}")
        payload = (
            bytes((_VERSION | _KINDS[target.kind],))
            + _varint(target.delivery_id)
            + _varint(target.message_id)
        )
        return base64.urlsafe_b64encode(payload + self._tag(payload)).rstrip(b"=").decode()

    def verify(self, token: str) -> LinkTarget | None:
        """The target of a token this key signed, else None (never raises)."""
        if not (0 < len(token) <= MAX_TOKEN_CHARS) or not _TOKEN_CHARS.fullmatch(token):
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        # Spare bits in the last character decode to the same bytes: only our spelling counts.
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != token:
            return None
        if len(raw) < 3 + TAG_BYTES:
            return None
        payload, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
        if not hmac.compare_digest(tag, self._tag(payload)):
            return None
        header = payload[0]
        kind = _KIND_OF_CODE.get(header & 0x0F)
        if header & 0xF0 != _VERSION or kind is None:
            return None
        first = _read_varint(payload, 1)
        if first is None:
            return None
        delivery_id, index = first
        second = _read_varint(payload, index)
        if second is None or second[1] != len(payload):
            return None
        message_id = second[0]
        if not (0 < delivery_id <= _MAX_ID and 0 < message_id <= _MAX_ID):
            return None
        return LinkTarget(kind, message_id, delivery_id)


@dataclass(frozen=True, slots=True)
class TrackedLinks:
    """Makes the tracked address of one delivery's link: `<public URL>/r/<token>`."""

    public_url: str
    signer: LinkSigner

    def url_for(self, kind: LinkKind, message_id: int, delivery_id: int) -> str:
        """The tracked link of one delivery of a post or broadcast."""
        token = self.signer.sign(LinkTarget(kind, message_id, delivery_id))
        return f"{self.public_url}/r/{token}"


def counts_as_click(method: str, user_agent: str | None) -> bool:
    """Whether a request for a tracked link is a person's click.

    HEAD requests, requests without a user agent and automated agents (link-preview fetchers
    such as Telegram's, crawlers, command-line tools) are redirected but not counted.
    """
    if method.upper() != "GET":
        return False
    agent = (user_agent or "").strip()
    return bool(agent) and _AUTOMATED_AGENT.search(agent) is None
