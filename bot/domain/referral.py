"""Referral codes in shared deep links: `sub-<slug>-<code>`, pure.

A code names the post or broadcast that a shared message carried, so that a supporter who
arrives through it credits that message ("joins"). It is `<kind><base36 id>_<mac>`: kind `p`
(post) or `b` (broadcast), the id in base 36, and the first 6 characters (30 bits) of an
HMAC-SHA256 of kind and id under the installation's referral key, base32 in lower case, so a
made-up or altered code credits nothing. Slugs never contain `_` (a-z, 0-9 and `-`), so the
last `-` before a code is where the slug ends, and `sub-<slug>` links still work as before.

The start parameter may hold 64 characters (Telegram's limit; letters, digits, `_` and `-`):
`sub-` (4) + a 40-character slug + `-` (1) leaves 19 for the code, so ids up to 36**11 - 1
get a code and a larger id gets a link without one (`deep_link_parameter`).
No I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

POST = "post"
BROADCAST = "broadcast"
_LETTER = {POST: "p", BROADCAST: "b"}
_KIND = {letter: kind for kind, letter in _LETTER.items()}

SUBSCRIBE_PREFIX = "sub-"
START_PARAMETER_CHARS = 64
MAC_CHARS = 6
MAX_ID_DIGITS = 11  # base-36 digits of the largest id that gets a code
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
CODE_PATTERN = re.compile(rf"([pb])([0-9a-z]{{1,{MAX_ID_DIGITS}}})_([a-z2-7]{{{MAC_CHARS}}})")


@dataclass(frozen=True, slots=True)
class Referral:
    """The message a valid code names."""

    kind: str  # POST or BROADCAST
    message_id: int


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _DIGITS[rest] + digits
        if number == 0:
            return digits


def _mac(key: bytes, letter: str, message_id: int) -> str:
    digest = hmac.new(key, f"{letter}{message_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:MAC_CHARS]


def make_code(key: bytes, kind: str, message_id: int) -> str | None:
    """The code of a post or broadcast; None if the id is too large to fit a deep link."""
    digits = _base36(message_id)
    if message_id < 1 or len(digits) > MAX_ID_DIGITS:
        return None
    letter = _LETTER[kind]
    return f"{letter}{digits}_{_mac(key, letter, message_id)}"


def read_code(key: bytes, code: str) -> Referral | None:
    """The message a code names, or None when it is malformed or its MAC is wrong."""
    match = CODE_PATTERN.fullmatch(code.lower())
    if match is None:
        return None
    letter, digits, mac = match.groups()
    message_id = int(digits, 36)
    if message_id < 1 or not hmac.compare_digest(mac, _mac(key, letter, message_id)):
        return None
    return Referral(_KIND[letter], message_id)


def deep_link_parameter(slug: str, code: str | None) -> str:
    """`sub-<slug>-<code>`, or `sub-<slug>` without a code or if it would not fit."""
    plain = f"{SUBSCRIBE_PREFIX}{slug}"
    if code is None:
        return plain
    full = f"{plain}-{code}"
    return full if len(full) <= START_PARAMETER_CHARS else plain


def split_subscription_key(key: str) -> tuple[str, str | None]:
    """Split what follows `sub-` into the topic key and a code-shaped tail (not yet checked).

    `write-for-rights-p1z_abcdef` -> (`write-for-rights`, `p1z_abcdef`);
    `write-for-rights` -> (`write-for-rights`, None).
    """
    head, sep, tail = key.rpartition("-")
    if sep and head and CODE_PATTERN.fullmatch(tail.lower()):
        return head, tail
    return key, None
