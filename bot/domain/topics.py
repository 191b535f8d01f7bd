"""Pure parsing and validation of topics files (TOML) into `TopicSpec` values.

Owns the rules for what a valid topic is (slug, name, description, emoji and matching rules)
and the bundled default topics file. Does no I/O apart from reading that file as package data;
no Telegram, no SQLAlchemy, no database look-ups (uniqueness against stored topics is the
service's job).

The file format::

    [[topic]]
    slug = "stoptorture"
    name = "StopTorture"
    name_fr = "Halte à la torture"  # optional: the French name and description
    description_fr = "Une phrase."
    emoji = "✋"
    description = "One sentence."
    action = "✍️ I wrote my letter"  # optional: the action button under its posts
    urgent = true  # optional: its posts and broadcasts go first, through digests and quiet hours
    preview = "large"  # optional: link preview of its posts, "off", "small" (default) or "large"
    categories = ["StopTorture", "Torture"]
    countries = []  # optional: a post's country facets ("Sudan"; amnesty.org's amn:countries)
    types = []  # optional: a post's type facets ("Urgent Action"; amn:resource-types)
    keywords = ["torture", "tortur*", "cruel, inhuman or degrading"]
    exclude = []
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from importlib import resources
from typing import Any

from bot.domain.matching import normalise_key, normalise_text, split_rule
from bot.domain.types import TopicSpec
from bot.domain.wording import N_
from bot.errors import InvalidInputError

__all__ = [
    "ACTION_LABEL_MAX",
    "DESCRIPTION_MAX",
    "EMOJI_MAX",
    "NAME_MAX",
    "PREVIEWS",
    "PREVIEW_LARGE",
    "PREVIEW_OFF",
    "PREVIEW_SMALL",
    "RULES_PER_TOPIC_MAX",
    "RULE_MAX",
    "SLUG_MAX",
    "check_action_label",
    "check_preview",
    "check_topic_name",
    "default_topics_text",
    "parse_topics_toml",
    "validate_slug",
]

SLUG_MAX = 40
NAME_MAX = 64
DESCRIPTION_MAX = 300
EMOJI_MAX = 8
RULE_MAX = 100
RULES_PER_TOPIC_MAX = 200
# The label of an action button ("✅ I did it"): one line, short enough for a phone's width.
ACTION_LABEL_MAX = 40
# A topic's link preview under its post notifications (`topics.preview`; None reads as small).
PREVIEW_OFF = "off"
PREVIEW_SMALL = "small"
PREVIEW_LARGE = "large"
PREVIEWS = (PREVIEW_OFF, PREVIEW_SMALL, PREVIEW_LARGE)
# A '*' keyword must keep this many letters or digits before the star, or it matches too much.
STEM_MIN = 3

# Letters, digits and inner hyphens: "write-for-rights", not "-w4r" or "W4R".
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_RULE_FIELDS = {
    "categories": "categories",
    "keywords": "keywords",
    "exclude": "excludes",
    "countries": "countries",
    "types": "types",
}
# Rules that name a taxonomy term (compared by `normalise_key`), not words of the text.
_NAME_FIELDS = {"categories": "category", "countries": "country", "types": "type"}
_FIELDS = (
    "slug",
    "name",
    "name_fr",
    "emoji",
    "description",
    "description_fr",
    "action",
    "urgent",
    "preview",
    *_RULE_FIELDS,
)


def validate_slug(slug: str) -> str:
    """Return `slug` without surrounding whitespace if it is a valid topic slug.

    A slug is 1-40 characters: lowercase letters a-z, digits and hyphens, starting and ending
    with a letter or digit.

    Raises:
        InvalidInputError: the slug is not valid; the message suggests one that is.
    """
    slug = slug.strip()
    if len(slug) <= SLUG_MAX and _SLUG.fullmatch(slug):
        return slug
    suggestion = re.sub(r"[^a-z0-9]+", "-", normalise_text(slug)).strip("-")[:SLUG_MAX].strip("-")
    if suggestion:
        raise InvalidInputError.worded(
            N_(
                "slug %(slug)s is not valid: use 1-%(max)s lowercase letters a-z, digits and "
                "hyphens, starting and ending with a letter or digit, e.g. %(suggestion)s"
            ),
            slug=repr(slug),
            max=SLUG_MAX,
            suggestion=repr(suggestion),
        )
    raise InvalidInputError.worded(
        N_(
            "slug %(slug)s is not valid: use 1-%(max)s lowercase letters a-z, digits and "
            "hyphens, starting and ending with a letter or digit"
        ),
        slug=repr(slug),
        max=SLUG_MAX,
    )


def check_action_label(label: str) -> str:
    """Return an action button's label without surrounding whitespace if it is valid.

    A label is 1-40 characters on one line (an emoji counts as the characters it is made of).

    Raises:
        InvalidInputError: empty, too long, or not one line.
    """
    label = label.strip()
    if (
        not label
        or len(label.splitlines()) != 1
        or any(unicodedata.category(c) == "Cc" for c in label)
    ):
        raise InvalidInputError.worded(
            N_("an action label is 1-%(max)s characters on one line"), max=ACTION_LABEL_MAX
        )
    if len(label) > ACTION_LABEL_MAX:
        raise InvalidInputError.worded(
            N_("an action label is at most %(max)s characters, not %(length)s"),
            max=ACTION_LABEL_MAX,
            length=len(label),
        )
    return label


def check_preview(value: str) -> str:
    """Return a link preview setting ("off", "small" or "large", any case) if it is one.

    Raises:
        InvalidInputError: anything else.
    """
    preview = value.strip().lower()
    if preview not in PREVIEWS:
        raise InvalidInputError.worded(
            N_("the link preview is off, small or large, not %(value)s"), value=repr(value)
        )
    return preview


def default_topics_text() -> str:
    """Return the text of the bundled default topics file, `bot/data/topics.toml`."""
    return resources.files("bot.data").joinpath("topics.toml").read_text(encoding="utf-8")


def parse_topics_toml(text: str, *, source: str = "topics file") -> list[TopicSpec]:
    """Parse and validate a topics file.

    Args:
        text: the TOML text, a list of `[[topic]]` tables.
        source: what to call the file in error messages (a path, "bundled topics.toml").

    Returns:
        The topics in file order. A file without topics gives an empty list.

    Raises:
        InvalidInputError: the text is not TOML, or a topic is not valid. The message names the
            source, the topic (1-based index and slug) and the problem.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{source}: not valid TOML: {exc}") from exc
    unknown = sorted(set(document) - {"topic"})
    if unknown:
        raise InvalidInputError(
            f"{source}: unknown top-level key {unknown[0]!r}; topics are [[topic]] tables"
        )
    tables = document.get("topic", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise InvalidInputError(f"{source}: 'topic' must be written as [[topic]] tables")

    specs: list[TopicSpec] = []
    claimed: dict[str, tuple[str, str]] = {}  # slug/name key -> (label of topic, field)
    for index, table in enumerate(tables, start=1):
        slug = table.get("slug")
        label = f"topic {index} ({slug!r})" if isinstance(slug, str) else f"topic {index}"
        try:
            spec = _parse_topic(table)
            names = (("slug", spec.slug), ("name", spec.name), ("name_fr", spec.name_fr))
            for field, value in names:
                if not value:
                    continue
                key = normalise_key(value)
                owner = claimed.setdefault(key, (label, field))
                if owner[0] != label:
                    raise InvalidInputError(
                        f"{field} {value!r} is the same as the {owner[1]} of {owner[0]}"
                        " (slugs and names must differ ignoring case, accents and punctuation)"
                    )
        except InvalidInputError as exc:
            raise InvalidInputError(f"{source}: {label}: {exc}") from None
        specs.append(spec)
    return specs


def _parse_topic(table: dict[str, Any]) -> TopicSpec:
    """Validate one `[[topic]]` table; errors say what is wrong, not where."""
    unknown = sorted(set(table) - set(_FIELDS))
    if unknown:
        raise InvalidInputError(
            f"unknown key {unknown[0]!r}; expected one of: {', '.join(_FIELDS)}"
        )
    slug = validate_slug(_string(table, "slug", required=True))
    name = _string(table, "name", required=True)
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidInputError(f"name must be 1-{NAME_MAX} characters, got {len(name)}")
    if not normalise_key(name):
        raise InvalidInputError(f"name {name!r} has no letters or digits")
    name_fr = _string(table, "name_fr")
    if name_fr:
        check_topic_name(name_fr, field="name_fr")
    description = _string(table, "description")
    description_fr = _string(table, "description_fr")
    for field, text in (("description", description), ("description_fr", description_fr)):
        if len(text) > DESCRIPTION_MAX:
            raise InvalidInputError(
                f"{field} must be at most {DESCRIPTION_MAX} characters, got {len(text)}"
            )
    emoji = _string(table, "emoji")
    if len(emoji) > EMOJI_MAX:
        raise InvalidInputError(f"emoji must be at most {EMOJI_MAX} characters, got {len(emoji)}")
    action = _string(table, "action")
    if action:
        action = check_action_label(action)
    urgent = table.get("urgent", False)
    if not isinstance(urgent, bool):
        raise InvalidInputError(f"urgent must be true or false, got {type(urgent).__name__}")
    preview = check_preview(_string(table, "preview") or PREVIEW_SMALL)
    rules = {field: _rules(table, field) for field in _RULE_FIELDS}
    total = sum(len(r) for r in rules.values())
    if total > RULES_PER_TOPIC_MAX:
        raise InvalidInputError(
            f"has {total} rules (categories, keywords, excludes, countries and types); "
            f"at most {RULES_PER_TOPIC_MAX} allowed"
        )
    return TopicSpec(
        slug=slug,
        name=name,
        description=description,
        emoji=emoji,
        action=action,
        name_fr=name_fr,
        description_fr=description_fr,
        categories=rules["categories"],
        keywords=rules["keywords"],
        excludes=rules["exclude"],
        countries=rules["countries"],
        types=rules["types"],
        urgent=urgent,
        preview=preview,
    )


def check_topic_name(name: str, *, field: str = "name") -> str:
    """Return a topic name if it is 1-64 characters with a letter or digit.

    Raises:
        InvalidInputError: too long, empty, or no letter or digit.
    """
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidInputError(f"{field} must be 1-{NAME_MAX} characters, got {len(name)}")
    if not normalise_key(name):
        raise InvalidInputError(f"{field} {name!r} has no letters or digits")
    return name


def _string(table: dict[str, Any], field: str, *, required: bool = False) -> str:
    """Return a string field without surrounding whitespace ("" when absent and optional)."""
    if field not in table:
        if required:
            raise InvalidInputError(f"{field} is missing")
        return ""
    value = table[field]
    if not isinstance(value, str):
        raise InvalidInputError(f"{field} must be a string, got {type(value).__name__}")
    return value.strip()


def _rules(table: dict[str, Any], field: str) -> tuple[str, ...]:
    """Return a validated list of categories, countries, types, keywords or excludes."""
    values = table.get(field, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InvalidInputError(f"{field} must be a list of strings")
    rules = tuple(v.strip() for v in values)
    for rule in rules:
        check_rule(field, rule)
    return rules


def check_rule(field: str, rule: str) -> None:
    """Raise if one rule (any kind, named by its file field) could never match or is too broad."""
    if not 1 <= len(rule) <= RULE_MAX:
        raise InvalidInputError(f"each of {field} must be 1-{RULE_MAX} characters: {rule!r}")
    if field in _NAME_FIELDS:
        if not normalise_key(rule):
            raise InvalidInputError(f"{_NAME_FIELDS[field]} {rule!r} has no letters or digits")
        return
    words, is_prefix = split_rule(rule)
    if not words:
        raise InvalidInputError(f"{field} rule {rule!r} has no letters or digits")
    if ("*" in rule and not is_prefix) or rule.count("*") > 1:
        raise InvalidInputError(
            f"{field} rule {rule!r}: '*' is only allowed once, at the end, right after a word"
        )
    if is_prefix and len(words[-1]) < STEM_MIN:
        raise InvalidInputError(
            f"{field} rule {rule!r}: keep at least {STEM_MIN} letters before the '*'"
        )
