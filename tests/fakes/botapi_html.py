"""Telegram's HTML parse mode, reimplemented for the fake Bot API server.

A port of TDLib's `parse_html` (td/telegram/MessageEntity.cpp, the parser the official
Bot API server runs for `parse_mode=HTML`) plus the parts of `fix_formatted_text` that
decide what a sent message finally looks like: trimming, dropping empty and whitespace-only
entities, merging touching bold/italic/... runs and keeping them out of `code`/`pre`.
It works on UTF-8 bytes exactly as TDLib does, so error messages carry the same byte
offsets, and it reports entity offsets and lengths in UTF-16 code units as the Bot API does.

Reproduced: the tag list, attribute syntax (quoted, single-quoted and bare name tokens,
valueless attributes), entity decoding (`&lt;` `&gt;` `&amp;` `&quot;`, decimal and `&#x`
references, optional `;`, unknown names kept literally), every parser error message,
`<pre><code class="language-x">`, `<blockquote expandable>`, `<a>` without `href`,
`tg://user?id=` mentions, custom emoji ids.
Approximated: URL validation of `<a href>` (TDLib's LinkManager is far more thorough),
`<tg-time>` (no entity when `unix` is not an integer), the set of characters that make a
text "empty". Not done: Markdown parse modes, automatic url/mention/hashtag detection.
No I/O; no dependency on the server module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "EmptyTextError",
    "HtmlParseError",
    "fix_text",
    "parse_html",
    "utf16_len",
]

# TDLib's `is_space`: note that NUL counts, because the C++ parser reads past the end as '\0'.
_SPACE = frozenset(b" \t\r\n\x0b\x00")
_SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_NAMED_ENTITIES = {b"lt": 0x3C, b"gt": 0x3E, b"amp": 0x26, b"quot": 0x22}
# MessageEntity::get_type_priority: ties on (offset, length) are broken by this order.
_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 1,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "date_time": 50,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
# Entities that may cross others; TDLib splits them around code/pre and merges touching runs.
_SPLITTABLE = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
_PRE_LIKE = frozenset({"pre", "code"})
_DATE_TIME_FORMAT = re.compile(r"r|w?[dD]?[tT]?")
_TG_USER_LINK = re.compile(r"tg:(?://)?user\?id=(\d+)\Z", re.IGNORECASE)
_HOST = re.compile(r"[^\s/?#@:]+(:\d{1,5})?\Z")
# Characters TDLib's `is_empty_string` strips (an approximation of its table).
_EMPTY_CHARS = (
    " \t\r\n\x0b\x0c\u00ad\u115f\u1160\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u2800\u3164\ufeff"
)


class HtmlParseError(ValueError):
    """TDLib refused the HTML; `message` is its text, e.g. `Unclosed end tag at byte offset 3`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmptyTextError(ValueError):
    """The text is empty once tags are removed and whitespace is trimmed."""


@dataclass(frozen=True)
class _Entity:
    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None
    user_id: int | None = None
    unix_time: int | None = None
    date_time_format: str | None = None

    @property
    def end(self) -> int:
        return self.offset + self.length

    def sort_key(self) -> tuple[int, int, int]:
        return (self.offset, -self.length, _PRIORITY.get(self.type, 50))

    def to_api(self) -> dict[str, Any]:
        result: dict[str, Any] = {"offset": self.offset, "length": self.length, "type": self.type}
        if self.url is not None:
            result["url"] = self.url
        if self.language:
            result["language"] = self.language
        if self.custom_emoji_id is not None:
            result["custom_emoji_id"] = self.custom_emoji_id
        if self.user_id is not None:
            result["user"] = {"id": self.user_id, "is_bot": False, "first_name": ""}
        if self.unix_time is not None:
            result["unix_time"] = self.unix_time
        if self.date_time_format:
            result["date_time_format"] = self.date_time_format
        return result

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> _Entity:
        user = data.get("user")
        return cls(
            type=str(data["type"]),
            offset=int(data["offset"]),
            length=int(data["length"]),
            url=data.get("url"),
            language=data.get("language"),
            custom_emoji_id=data.get("custom_emoji_id"),
            user_id=int(user["id"]) if isinstance(user, dict) and "id" in user else None,
            unix_time=data.get("unix_time"),
            date_time_format=data.get("date_time_format"),
        )


def utf16_len(text: str) -> int:
    """Return the length of `text` in UTF-16 code units, the unit of entity offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _is_alpha(c: int) -> bool:
    return 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A


def _is_digit(c: int) -> bool:
    return 0x30 <= c <= 0x39


def _is_hex(c: int) -> bool:
    return _is_digit(c) or 0x41 <= c <= 0x46 or 0x61 <= c <= 0x66


class _Bytes:
    """UTF-8 input with C-string semantics: reading at or past the end yields 0."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def __getitem__(self, index: int) -> int:
        return self.data[index] if index < self.size else 0


def _decode_entity(text: _Bytes, pos: int) -> tuple[int, int]:
    """Port of `decode_html_entity`: return (code point, position after it) or (0, pos)."""
    end = pos + 1
    code = 0
    if text[pos + 1] == 0x23:  # '#'
        end += 1
        if text[pos + 2] == 0x78:  # 'x' (lower case only, as in TDLib)
            end += 1
            while _is_hex(text[end]):
                code = code * 16 + int(chr(text[end]), 16)
                end += 1
        else:
            while _is_digit(text[end]):
                code = code * 10 + text[end] - 0x30
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while _is_alpha(text[end]):
            end += 1
        named = _NAMED_ENTITIES.get(text.data[pos + 1 : end])
        if named is None:
            return 0, pos
        code = named
    if text[end] == 0x3B:  # ';'
        end += 1
    return code, end


def _encode_code_point(code: int) -> bytes:
    return chr(code).encode("utf-8", "surrogatepass")


def _utf16_units(first_byte: int) -> int:
    """UTF-16 units of the character starting with this byte (0 for continuation bytes)."""
    if first_byte & 0xC0 == 0x80:
        return 0
    return 2 if first_byte >= 0xF0 else 1


def _checked_link(url: str) -> str | None:
    """Approximate LinkManager::get_checked_link: a normalised URL, or None if unusable."""
    if not url or any(c.isspace() for c in url):
        return None
    lowered = url.lower()
    if lowered.startswith(("tg:", "ton:")):
        return url
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    if not _HOST.match(host) or host.startswith(".") or ".." in host:
        return None
    result = f"{scheme}://{parts.netloc.lower()}{parts.path or '/'}"
    if parts.query:
        result += "?" + parts.query
    if parts.fragment:
        result += "#" + parts.fragment
    return result


def _int64(value: str) -> int | None:
    if not re.fullmatch(r"-?\d{1,19}", value):
        return None
    number = int(value)
    return number if -(2**63) <= number < 2**63 else None


@dataclass
class _Open:
    tag: str
    argument: str
    utf16_offset: int
    result_pos: int
    unix: str = ""
    time_format: str = ""


def _parse_attributes(text: _Bytes, i: int, begin: int, tag: str, opened: _Open) -> int:
    """Read the attributes of a start tag from `i`; return the index of its closing '>'."""
    while text[i] != 0x3E:  # '>'
        while text[i] != 0 and text[i] in _SPACE:
            i += 1
        if text[i] == 0x3E:
            break
        name_begin = i
        while text[i] not in _SPACE and text[i] not in b"=>/\"'":
            i += 1
        name = text.data[name_begin:i].decode("utf-8", "replace")
        if not name:
            raise HtmlParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
        while text[i] != 0 and text[i] in _SPACE:
            i += 1
        if text[i] != 0x3D:  # '=': a valueless attribute such as `expandable`
            if text[i] == 0:
                raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
            if tag == "blockquote" and name == "expandable":
                opened.argument = "1"
            continue
        i += 1
        while text[i] != 0 and text[i] in _SPACE:
            i += 1
        if text[i] == 0:
            raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        value = bytearray()
        if text[i] not in (0x22, 0x27):
            # A name token (letters, digits, periods, hyphens); not case sensitive.
            token_begin = i
            while _is_alpha(text[i]) or _is_digit(text[i]) or text[i] in (0x2E, 0x2D):
                i += 1
            value += text.data[token_begin:i].lower()
            if text[i] not in _SPACE and text[i] != 0x3E:
                raise HtmlParseError(f"Unexpected end of name token at byte offset {token_begin}")
        else:
            quote = text[i]
            i += 1
            while text[i] != quote and text[i] != 0:
                if text[i] == 0x26:
                    code, after = _decode_entity(text, i)
                    if code != 0:
                        value += _encode_code_point(code)
                        i = after
                        continue
                value.append(text[i])
                i += 1
            if text[i] == quote:
                i += 1
        if text[i] == 0:
            raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
        decoded = value.decode("utf-8", "replace")
        if tag == "a" and name == "href":
            opened.argument = decoded
        elif tag == "code" and name == "class" and decoded.startswith("language-"):
            opened.argument = decoded[9:]
        elif tag == "span" and name == "class" and decoded.startswith("tg-"):
            opened.argument = decoded[3:]
        elif (tag == "tg-emoji" and name == "emoji-id") or (tag == "tg-time" and name == "unix"):
            opened.argument = decoded
        elif tag == "tg-time" and name == "format":
            opened.time_format = decoded
        elif tag == "blockquote" and name == "expandable":
            opened.argument = "1"
    return i


def _close_entity(opened: _Open, length: int, result: bytearray, entities: list[_Entity]) -> None:
    """Append the entity a matched end tag produces (TDLib's big if/else on the tag name)."""
    tag, offset, argument = opened.tag, opened.utf16_offset, opened.argument
    simple = {
        "i": "italic",
        "em": "italic",
        "b": "bold",
        "strong": "bold",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "u": "underline",
        "ins": "underline",
        "tg-spoiler": "spoiler",
        "span": "spoiler",
    }
    if tag in simple:
        entities.append(_Entity(simple[tag], offset, length))
    elif tag == "tg-emoji":
        emoji_id = _int64(argument)
        if not emoji_id:
            raise HtmlParseError("Invalid custom emoji identifier specified")
        entities.append(_Entity("custom_emoji", offset, length, custom_emoji_id=str(emoji_id)))
    elif tag == "tg-time":
        unix = _int64(argument)
        if unix is not None and unix >= 0:
            time_format = opened.time_format
            if not _DATE_TIME_FORMAT.fullmatch(time_format):
                time_format = ""
            entities.append(
                _Entity("date_time", offset, length, unix_time=unix, date_time_format=time_format)
            )
    elif tag == "a":
        url = argument or result[opened.result_pos :].decode("utf-8", "replace")
        mention = _TG_USER_LINK.match(url)
        if mention and int(mention.group(1)) > 0:
            entities.append(_Entity("text_mention", offset, length, user_id=int(mention.group(1))))
        else:
            checked = _checked_link(url)
            if checked:
                entities.append(_Entity("text_link", offset, length, url=checked))
    elif tag == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last.type == "code"
            and (last.offset, last.length) == (offset, length)
            and last.language
        ):
            entities[-1] = replace(last, type="pre")
        else:
            entities.append(_Entity("pre", offset, length))
    elif tag == "code":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last.type == "pre"
            and (last.offset, last.length) == (offset, length)
            and argument
        ):
            entities[-1] = replace(last, language=argument)
        else:
            entities.append(_Entity("code", offset, length, language=argument or None))
    else:  # blockquote
        kind = "expandable_blockquote" if argument else "blockquote"
        entities.append(_Entity(kind, offset, length))


def _parse(source: str) -> tuple[str, list[_Entity]]:
    text = _Bytes(source.encode("utf-8", "surrogatepass"))
    result = bytearray()
    entities: list[_Entity] = []
    nested: list[_Open] = []
    utf16_offset = 0
    has_surrogate = False
    i = 0
    while i < text.size:
        c = text[i]
        if c == 0x26:  # '&'
            code, after = _decode_entity(text, i)
            if code != 0:
                utf16_offset += 2 if code > 0xFFFF else 1
                has_surrogate = has_surrogate or 0xD800 <= code <= 0xDFFF
                result += _encode_code_point(code)
                i = after
                continue
        if c != 0x3C:  # not '<'
            utf16_offset += _utf16_units(c)
            result.append(c)
            i += 1
            continue

        begin = i
        i += 1
        if text[i] != 0x2F:  # '/': a start tag
            while text[i] not in _SPACE and text[i] != 0x3E:
                i += 1
            if text[i] == 0:
                raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
            tag = text.data[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in _SUPPORTED_TAGS:
                raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            opened = _Open(tag, "", utf16_offset, len(result))
            i = _parse_attributes(text, i, begin, tag, opened)
            if tag == "span" and opened.argument != "spoiler":
                raise HtmlParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {begin}'
                )
            nested.append(opened)
        else:  # an end tag
            if not nested:
                raise HtmlParseError(f"Unexpected end tag at byte offset {begin}")
            while text[i] not in _SPACE and text[i] != 0x3E:
                i += 1
            end_tag = text.data[begin + 2 : i].decode("utf-8", "replace").lower()
            while text[i] in _SPACE and text[i] != 0:
                i += 1
            if text[i] != 0x3E:
                raise HtmlParseError(f"Unclosed end tag at byte offset {begin}")
            opened = nested[-1]
            if end_tag and end_tag != opened.tag:
                raise HtmlParseError(
                    f'Unmatched end tag at byte offset {begin}, expected "</{opened.tag}>", '
                    f'found "</{end_tag}>"'
                )
            if utf16_offset > opened.utf16_offset:
                _close_entity(opened, utf16_offset - opened.utf16_offset, result, entities)
            nested.pop()
        i += 1  # past the '>'
    if nested:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{nested[-1].tag}"')
    if has_surrogate:
        raise HtmlParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    # A language is kept only where `code` became `pre`; plain `code` drops it.
    entities = [replace(e, language=None) if e.type == "code" else e for e in entities]
    entities.sort(key=_Entity.sort_key)
    return result.decode("utf-8", "surrogatepass"), entities


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse `text` as TDLib's `parse_html` does, before any trimming or entity fixing.

    Args:
        text: The `text`/`caption` parameter as the bot sent it.

    Returns:
        The text without tags and with HTML entities decoded, and its entities as Bot API
        MessageEntity dicts (offsets in UTF-16 code units), sorted as TDLib sorts them.

    Raises:
        HtmlParseError: With TDLib's message, e.g. `Unsupported start tag "br" at byte offset 5`.
    """
    plain, entities = _parse(text)
    return plain, [entity.to_api() for entity in entities]


def _split_splittable(splittable: list[_Entity], others: list[_Entity]) -> list[_Entity]:
    """Merge touching runs of one type, and cut them out of code and pre entities."""
    merged: list[_Entity] = []
    for entity in sorted(splittable, key=lambda e: (e.type, e.offset)):
        last = merged[-1] if merged else None
        if last is not None and last.type == entity.type and entity.offset <= last.end:
            merged[-1] = replace(last, length=max(last.end, entity.end) - last.offset)
        else:
            merged.append(entity)
    holes = sorted((e.offset, e.end) for e in others if e.type in _PRE_LIKE)
    result: list[_Entity] = []
    for entity in merged:
        pieces = [(entity.offset, entity.end)]
        for hole_start, hole_end in holes:
            next_pieces = []
            for start, end in pieces:
                if hole_end <= start or hole_start >= end:
                    next_pieces.append((start, end))
                    continue
                if start < hole_start:
                    next_pieces.append((start, hole_start))
                if hole_end < end:
                    next_pieces.append((hole_end, end))
            pieces = next_pieces
        result.extend(replace(entity, offset=s, length=e - s) for s, e in pieces if e > s)
    return result


def _sort_key(entity: _Entity) -> tuple[int, int, int]:
    return entity.sort_key()


def _drop_nested(entities: list[_Entity]) -> list[_Entity]:
    """Keep the outermost of nested entities: code, pre, links, ... cannot contain each other.

    Blockquotes may contain those, but not other blockquotes; `entities` must be sorted.
    """
    kept: list[_Entity] = []
    for kind_is_quote in (False, True):
        last_end = -1
        for entity in entities:
            if entity.type.endswith("blockquote") != kind_is_quote:
                continue
            if entity.offset >= last_end:
                kept.append(entity)
                last_end = entity.end
    return kept


def fix_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Finish a parsed text as TDLib's `fix_formatted_text` does for an outgoing message.

    Drops empty entities and entities made only of spaces and line breaks (a link may
    contain spaces), keeps bold/italic/underline/strikethrough/spoiler out of code and pre,
    merges touching runs of one such type, trims spaces and line breaks at the end, and at
    the start up to the first entity.

    Args:
        text: The parsed text.
        entities: Its entities as Bot API dicts.

    Returns:
        The final text and entities.

    Raises:
        EmptyTextError: If nothing but whitespace is left.
    """
    units = text.encode("utf-16-le", "surrogatepass")

    def unit(index: int) -> int:
        return int.from_bytes(units[2 * index : 2 * index + 2], "little")

    total = len(units) // 2
    parsed = [_Entity.from_api(e) for e in entities]
    parsed = [e for e in parsed if e.length > 0 and e.offset >= 0 and e.end <= total]

    def has_content(entity: _Entity) -> bool:
        space_ok = entity.type in ("text_link", "text_mention")
        for index in range(entity.offset, entity.end):
            value = unit(index)
            if value not in (0x0D, 0x0A) and (value != 0x20 or space_ok):
                return True
        return False

    parsed = [e for e in parsed if has_content(e)]
    others = _drop_nested(sorted((e for e in parsed if e.type not in _SPLITTABLE), key=_sort_key))
    parsed = others + _split_splittable([e for e in parsed if e.type in _SPLITTABLE], others)

    last = total - 1
    while last >= 0 and unit(last) in (0x20, 0x0A):
        last -= 1
    if last < 0:
        raise EmptyTextError("Text must be non-empty")
    kept = []
    for entity in parsed:
        if entity.offset > last:
            continue
        kept.append(replace(entity, length=min(entity.end, last + 1) - entity.offset))
    first_entity = min((e.offset for e in kept), default=last + 1)
    first = 0
    while first < first_entity and unit(first) in (0x20, 0x0A):
        first += 1
    final_units = units[2 * first : 2 * (last + 1)]
    final_text = final_units.decode("utf-16-le", "surrogatepass")
    if not final_text.strip(_EMPTY_CHARS):
        raise EmptyTextError("Text must be non-empty")
    kept = [replace(e, offset=e.offset - first) for e in kept]
    kept.sort(key=_Entity.sort_key)
    return final_text, [e.to_api() for e in kept]
