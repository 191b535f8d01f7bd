"""Link tokens: round trips, compactness, and every kind of tampering answered with None."""

from __future__ import annotations

import base64

import pytest

from bot.domain.links import (
    MAX_TOKEN_CHARS,
    LinkSigner,
    LinkTarget,
    TrackedLinks,
    counts_as_click,
)

KEY = bytes(range(32))
SIGNER = LinkSigner(KEY)


@pytest.mark.parametrize(
    "target",
    [
        LinkTarget("post", 1, 1),
        LinkTarget("broadcast", 1, 1),
        LinkTarget("post", 127, 128),
        LinkTarget("broadcast", 4_321, 2_000_000),
        LinkTarget("post", 2**63 - 1, 2**63 - 1),
    ],
)
def test_round_trip(target: LinkTarget) -> None:
    token = SIGNER.sign(target)
    assert (SIGNER.verify(token), len(token) <= MAX_TOKEN_CHARS) == (target, True)


def test_typical_tokens_are_compact_and_url_safe() -> None:
    token = SIGNER.sign(LinkTarget("broadcast", 12_345, 9_876_543))
    assert (len(token) < 40, token.isascii(), set(token) <= set(_ALPHABET)) == (True, True, True)


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def test_another_key_does_not_verify() -> None:
    token = SIGNER.sign(LinkTarget("post", 5, 6))
    assert LinkSigner(b"another key of sixteen+ bytes").verify(token) is None


def test_kinds_are_signed_apart() -> None:
    """The same ids as a post and as a broadcast make two different tokens."""
    assert SIGNER.sign(LinkTarget("post", 5, 6)) != SIGNER.sign(LinkTarget("broadcast", 5, 6))


@pytest.mark.parametrize("index", range(18))
def test_tampering_any_byte_is_refused(index: int) -> None:
    """Flipping any bit of any of the 18 bytes (header, 3 + 2 id bytes, tag) gives None."""
    token = SIGNER.sign(LinkTarget("broadcast", 4_321, 2_000_000))
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert len(raw) == 18
    for bit in range(8):
        altered = bytearray(raw)
        altered[index] ^= 1 << bit
        forged = base64.urlsafe_b64encode(bytes(altered)).rstrip(b"=").decode()
        assert SIGNER.verify(forged) is None, (index, bit)


def test_changing_any_character_is_refused() -> None:
    token = SIGNER.sign(LinkTarget("post", 77, 88))
    accepted = [
        (i, c)
        for i in range(len(token))
        for c in _ALPHABET
        if c != token[i] and SIGNER.verify(token[:i] + c + token[i + 1 :]) is not None
    ]
    assert accepted == []


def test_truncated_and_extended_tokens_are_refused() -> None:
    token = SIGNER.sign(LinkTarget("post", 77, 88))
    cut = [SIGNER.verify(token[:n]) for n in range(len(token))]
    longer = [SIGNER.verify(token + extra) for extra in ("A", "AA", "AAAA", "=", "==")]
    assert (cut, longer) == ([None] * len(token), [None] * 5)


@pytest.mark.parametrize(
    "token",
    [
        "",
        " ",
        "abc",
        "../../etc/passwd",
        "https://evil.example/",
        "A" * 200,
        "%2F%2Fevil.example",
        "ÄÖÜ" * 10,
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+/",
    ],
)
def test_garbage_is_refused_without_raising(token: str) -> None:
    assert SIGNER.verify(token) is None


def test_a_correctly_signed_but_non_minimal_payload_is_refused() -> None:
    """Only the signer's own encoding is accepted, even with a valid tag (defence in depth)."""
    payload = bytes((0x10, 0x85, 0x00, 0x01))  # delivery id 5 spelt with a needless zero byte
    raw = payload + SIGNER._tag(payload)
    token = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert SIGNER.verify(token) is None


@pytest.mark.parametrize(("message_id", "delivery_id"), [(0, 1), (1, 0), (-1, 1), (1, 2**63)])
def test_out_of_range_ids_cannot_be_signed(message_id: int, delivery_id: int) -> None:
    with pytest.raises(ValueError, match="link id"):
        SIGNER.sign(LinkTarget("post", message_id, delivery_id))


def test_short_keys_are_refused_and_the_key_never_shows() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        LinkSigner(b"short")
    assert (KEY.hex()[:8] in repr(SIGNER), str(KEY) in repr(SIGNER)) == (False, False)


def test_tracked_links_put_the_token_under_r() -> None:
    links = TrackedLinks("https://bot.example.org/campaign", SIGNER)
    url = links.url_for("broadcast", 3, 4)
    prefix = "https://bot.example.org/campaign/r/"
    assert (url.startswith(prefix), SIGNER.verify(url.removeprefix(prefix))) == (
        True,
        LinkTarget("broadcast", 3, 4),
    )


@pytest.mark.parametrize(
    ("method", "agent", "counted"),
    [
        ("GET", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1", True),
        ("GET", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", True),
        ("GET", "python-httpx/0.28.1", True),
        ("get", "Mozilla/5.0 Firefox/128.0", True),
        (
            "GET",
            "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A; wv) AppleWebKit/537.36 "
            "Chrome/126.0 Mobile Safari/537.36 Telegram-Android/11.2.3 (Samsung SM-S918B)",
            True,
        ),
        ("GET", "Mozilla/5.0 (iPhone) Mobile/15E148 [LinkedInApp]/9.29", True),
        ("GET", "Mozilla/5.0 (iPhone) Mobile/15E148 Twitter for iPhone/10.40", True),
        ("HEAD", "Mozilla/5.0 Firefox/128.0", False),
        ("GET", "TelegramBot (like TwitterBot)", False),
        ("GET", "Twitterbot/1.0", False),
        (
            "GET",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            False,
        ),
        ("GET", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", False),
        ("GET", "WhatsApp/2.23.20.0 A", False),
        ("GET", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", False),
        (
            "GET",
            "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
            False,
        ),
        ("GET", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", False),
        ("GET", "Mozilla/5.0 (compatible; bingbot/2.0)", False),
        ("GET", "SomeCrawler/3", False),
        ("GET", "my-spider", False),
        ("GET", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) BingPreview/1.0b", False),
        ("GET", "Mastodon/4.2.1 (http.rb/5.1.1; +https://social.example/)", False),
        ("GET", "curl/8.5.0", False),
        ("GET", "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (Applebot/0.1)", False),
        ("GET", "Mozilla/5.0 (X11) HeadlessChrome/120.0 Safari/537.36", False),
        ("GET", "", False),
        ("GET", None, False),
    ],
)
def test_who_counts_as_a_click(method: str, agent: str | None, counted: bool) -> None:
    assert counts_as_click(method, agent) is counted
