"""Pure matching of feed entries to topics. No I/O, no Telegram, no SQLAlchemy.

Owns the two text normalisations (`normalise_key` for categories and topic look-ups,
`normalise_text` for keyword matching) and `TopicMatcher`, which decides which topics an entry
matches and can explain why.

How a topic matches (see `TopicMatcher`):

- a **category** rule matches when its `normalise_key` equals the key of one of the entry's
  categories ("Write for Rights" == "#write-for-rights" == "WriteForRights");
- a **category** rule also matches the name of any other facet of the entry (an `amn:` topic
  "Torture" matches `categories = ["Torture"]`), by the same key;
- a **country** or **type** rule matches only the entry's facets of kind "country" or "type",
  by `normalise_key` ("Sudan", "Urgent Action");
- a **keyword** rule matches when it occurs as whole words in the title, the summary or the
  full text (`content_text`), ignoring case, accents and the punctuation between words:
  "ill-treatment" matches "ill treatment" and "Ill–Treatment". A phrase never spans two of them;
- a keyword ending in `*` matches words that start with it: "tortur*" matches "torture",
  "tortured" and "torturers" but not "distortures"; without the star, "torture" does not match
  "tortureless", and "art" never matches "article";
- an **exclude** rule is a keyword that vetoes the topic, even when a category matched;
- a topic with no categories, countries, types or keywords never matches.

Design: every distinct keyword of every topic is split into words once, at compile time, and
stored in a word trie shared by all topics. Matching an entry normalises and tokenises its
title, summary and full text (one C-level regex call each), finds one-word keywords with a set
intersection, finds one-word `*` keywords with one regex over the entry's distinct words (a
character trie, so the alternation does not backtrack), and walks the word trie only from
positions where a phrase can start. The work per entry does not grow with the number of topics,
and overlapping or nested keywords ("rights", "human rights", "human rights defenders", "tort*",
"tortur*") all match. A single combined regex with lookahead scans a little faster but reports
one match per start position, so nested phrases would need a second pass; the word trie is exact
and fast enough (10,000 posts x 200 topics in about 0.6 s, compile included, on a 2-core
machine).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.domain.types import ParsedEntry, RuleKind, TopicRules

__all__ = [
    "TopicMatcher",
    "compile_matcher",
    "normalise_key",
    "normalise_text",
    "split_rule",
]

# A word is a run of letters and digits; underscores separate words, so that
# "#write_for_rights" reads as three words.
_WORD = re.compile(r"[^\W_]+")
_NOT_KEY = re.compile(r"[\W_]+")
# Dotless i has no case partner of its own ("ı".upper() == "I"); folding it to "i" keeps
# matching invariant under case changes. The others are apostrophes, unified to "'".
_FOLD_EXTRA = (("ı", "i"), ("’", "'"), ("‘", "'"), ("ʼ", "'"), ("′", "'"), ("＇", "'"))
_ASCII = frozenset(map(chr, range(128)))
# Separates the title's tokens from the summary's, so that no phrase spans them.
_BREAK = "\x00"
# The facet kinds that country and type rules look at (bot.domain.types.Facet).
_FACET_RULE_KINDS = {"country": RuleKind.COUNTRY, "type": RuleKind.TYPE}


def _strip_marks(text: str) -> str:
    """Remove combining marks (accents) from NFKD text."""
    for char in set(text).difference(_ASCII):
        if unicodedata.combining(char):
            text = text.replace(char, "")
    return text


def _fold(text: str) -> str:
    """Casefold and strip accents; idempotent and invariant under case changes."""
    if text.isascii():
        return text.lower()
    text = _strip_marks(unicodedata.normalize("NFKD", text.casefold()))
    if text.isascii():
        return text.lower()  # compatibility decomposition can yield capitals ("ᴬ" -> "A")
    folded = text.casefold()
    if folded != text:  # rare: compatibility forms decompose to capitals ("ℌ’" -> "H’")
        text = _strip_marks(unicodedata.normalize("NFKD", folded))
    for old, new in _FOLD_EXTRA:
        if old in text:
            text = text.replace(old, new)
    return text


def normalise_key(text: str) -> str:
    """Return the forgiving key used to compare categories, slugs and topic names.

    Accents, case, a leading '#', spaces, hyphens, underscores and all other punctuation are
    ignored: "Write for Rights", "#write-for-rights" and "write_for_rights" all give
    "writeforrights", and "Défense" gives "defense". A text with no letters or digits gives "".
    """
    return _NOT_KEY.sub("", _fold(text))


def normalise_text(text: str) -> str:
    """Return `text` casefolded, without accents, with apostrophes unified to "'".

    Everything else (spaces, punctuation) is kept, so word boundaries stay where they were.
    """
    return _fold(text)


def split_rule(rule: str) -> tuple[tuple[str, ...], bool]:
    """Split a keyword rule into its normalised words and whether it ends in a `*` wildcard.

    Punctuation between words is not significant: "Cruel, inhuman or degrading" gives
    (("cruel", "inhuman", "or", "degrading"), False) and "tortur*" gives (("tortur",), True).
    A rule without letters or digits gives ((), False) and never matches.
    """
    text = normalise_text(rule).rstrip()
    is_prefix = len(text) >= 2 and text[-1] == "*" and text[-2].isalnum()
    words = tuple(_WORD.findall(text))
    return words, is_prefix and bool(words)


def _trie_pattern(stems: Iterable[str]) -> str:
    """Return a regex alternation of `stems`, factored as a character trie.

    Alternatives at each step start with different characters and optional tails are greedy,
    so the regex engine never backtracks far and a match is always the longest stem that fits.
    """
    trie: dict[str, Any] = {}
    for stem in stems:
        node = trie
        for char in stem:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = []
        for char, child in sorted(node.items()):
            if not char:
                continue
            run = [char]
            while len(child) == 1 and "" not in child:  # no choice here: no nested group
                ((char, child),) = child.items()
                run.append(char)
            branches.append(re.escape("".join(run)) + build(child))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


@dataclass(slots=True, eq=False)
class _Node:
    """One step in the keyword trie: what ends here and what may follow."""

    ends: dict[str, list[int]] = field(default_factory=dict)
    prefix_ends: dict[str, list[int]] = field(default_factory=dict)
    prefix_lengths: tuple[int, ...] = ()
    children: dict[str, _Node] = field(default_factory=dict)

    def add(self, words: tuple[str, ...], is_prefix: bool, pattern_id: int) -> None:
        """Insert a pattern whose remaining words are `words`."""
        node = self
        for word in words[:-1]:
            node = node.children.setdefault(word, _Node())
        last = words[-1]
        if is_prefix:
            node.prefix_ends.setdefault(last, []).append(pattern_id)
            node.prefix_lengths = tuple(sorted({len(p) for p in node.prefix_ends}))
        else:
            node.ends.setdefault(last, []).append(pattern_id)

    def prefix_hits(self, word: str, found: set[int]) -> None:
        """Add the prefix patterns ending at this node that `word` starts with."""
        for length in self.prefix_lengths:
            if length > len(word):
                break
            ids = self.prefix_ends.get(word[:length])
            if ids is not None:
                found.update(ids)


@dataclass(frozen=True, slots=True)
class _Rule:
    """One rule of one topic, kept for `explain`: its kind, text as written, and its key."""

    kind: RuleKind
    text: str
    # A category key (str), a keyword pattern id (int), or a facet rule's (kind, key).
    key: str | int | tuple[RuleKind, str]


class TopicMatcher:
    """Decide which topics an entry matches, for many topics at once.

    Build it once from the topics' rules (compiling is the expensive part), then call `match`
    or `match_many` for every entry. Nothing changes after construction, so one matcher can be
    shared; build a new one when the topics change.
    """

    def __init__(self, rules: Iterable[TopicRules]) -> None:
        self._root = _Node()
        self._patterns: dict[tuple[tuple[str, ...], bool], int] = {}
        self._includes: list[set[int]] = []  # pattern id -> topics it selects
        self._excludes: list[set[int]] = []  # pattern id -> topics it vetoes
        self._categories: dict[str, set[int]] = {}
        # Facet rules: (rule kind, name key) -> topics.
        self._facets: dict[tuple[RuleKind, str], set[int]] = {}
        self._rules: dict[int, list[_Rule]] = {}
        for topic in rules:
            self._add_topic(topic)
        self._single_words = frozenset(self._root.ends)
        self._phrase_starts = frozenset(self._root.children)
        # One-word prefix keywords ("tortur*") are found by one regex scan per text; a hit
        # stands for every prefix keyword it starts with ("tort*" as well as "tortur*").
        stems = self._root.prefix_ends
        self._stem_regex = re.compile(r"(?<![^\W_])" + _trie_pattern(stems)) if stems else None
        self._stem_patterns = {
            stem: [pid for other, ids in stems.items() if stem.startswith(other) for pid in ids]
            for stem in stems
        }

    def _pattern_id(self, rule: str) -> int | None:
        """Return the id of the pattern for `rule`, adding it to the trie if it is new."""
        words, is_prefix = split_rule(rule)
        if not words:
            return None
        key = (words, is_prefix)
        pattern_id = self._patterns.get(key)
        if pattern_id is None:
            pattern_id = self._patterns[key] = len(self._includes)
            self._includes.append(set())
            self._excludes.append(set())
            self._root.add(words, is_prefix, pattern_id)
        return pattern_id

    def _add_topic(self, topic: TopicRules) -> None:
        """Compile one topic's rules into the shared structures."""
        tid = topic.topic_id
        rules = self._rules.setdefault(tid, [])
        for category in topic.categories:
            key = normalise_key(category)
            if key:
                self._categories.setdefault(key, set()).add(tid)
                rules.append(_Rule(RuleKind.CATEGORY, category, key))
        for kind, names in ((RuleKind.COUNTRY, topic.countries), (RuleKind.TYPE, topic.types)):
            for name in names:
                key = normalise_key(name)
                if key:
                    self._facets.setdefault((kind, key), set()).add(tid)
                    rules.append(_Rule(kind, name, (kind, key)))
        for kind, texts, targets in (
            (RuleKind.KEYWORD, topic.keywords, self._includes),
            (RuleKind.EXCLUDE, topic.excludes, self._excludes),
        ):
            for text in texts:
                pattern_id = self._pattern_id(text)
                if pattern_id is not None:
                    targets[pattern_id].add(tid)
                    rules.append(_Rule(kind, text, pattern_id))

    def _keyword_hits(self, entry: ParsedEntry) -> set[int]:
        """Return the ids of the keyword patterns in the entry's title, summary or full text."""
        tokens = _WORD.findall(normalise_text(entry.title))
        tokens.append(_BREAK)
        tokens += _WORD.findall(normalise_text(entry.summary))
        if entry.content_text:
            tokens.append(_BREAK)
            tokens += _WORD.findall(normalise_text(entry.content_text))
        root = self._root
        found: set[int] = set()
        present = set(tokens)
        for word in self._single_words.intersection(present):
            found.update(root.ends[word])
        if self._stem_regex is not None:
            for stem in set(self._stem_regex.findall(" ".join(present))):
                found.update(self._stem_patterns[stem])
        starts = self._phrase_starts
        if starts.isdisjoint(present):
            return found
        last = len(tokens) - 1
        for start in [i for i, word in enumerate(tokens) if word in starts]:
            node = root.children[tokens[start]]
            while start < last:
                start += 1
                word = tokens[start]
                ids = node.ends.get(word)
                if ids is not None:
                    found.update(ids)
                if node.prefix_lengths:
                    node.prefix_hits(word, found)
                child = node.children.get(word)
                if child is None:
                    break
                node = child
        return found

    def _category_hits(self, entry: ParsedEntry) -> set[str]:
        """Return the entry's category and facet name keys that some topic's categories list."""
        if not self._categories:
            return set()
        names = {*entry.categories, *(facet.name for facet in entry.facets)}
        return {key for name in names if (key := normalise_key(name)) in self._categories}

    def _facet_hits(self, entry: ParsedEntry) -> set[tuple[RuleKind, str]]:
        """Return the (rule kind, key) of the entry's country and type facets some topic lists."""
        if not self._facets:
            return set()
        return {
            (kind, key)
            for facet in entry.facets
            if (kind := _FACET_RULE_KINDS.get(facet.kind)) is not None
            and (kind, key := normalise_key(facet.name)) in self._facets
        }

    def match(self, entry: ParsedEntry) -> frozenset[int]:
        """Return the ids of the topics that `entry` matches."""
        patterns = self._keyword_hits(entry)
        selected = set().union(
            *[self._categories[key] for key in self._category_hits(entry)],
            *[self._facets[hit] for hit in self._facet_hits(entry)],
            *[self._includes[pid] for pid in patterns],
        )
        if selected:
            selected.difference_update(*[self._excludes[pid] for pid in patterns])
        return frozenset(selected)

    def match_many(self, entries: Iterable[ParsedEntry]) -> list[frozenset[int]]:
        """Return `match(entry)` for each entry, in order."""
        return [self.match(entry) for entry in entries]

    def explain(self, entry: ParsedEntry) -> dict[int, list[str]]:
        """Say which rules fired for each topic that some category or keyword selected.

        Each rule is given as "<kind>:<rule as written>", kinds being "category", "country",
        "type", "keyword" and "exclude", in the order the topic lists them. A topic listed with
        an "exclude:" rule was vetoed: it is not in `match(entry)`; every other listed topic is.
        """
        categories = self._category_hits(entry)
        facets = self._facet_hits(entry)
        patterns = self._keyword_hits(entry)
        explained: dict[int, list[str]] = {}
        for topic_id, rules in self._rules.items():
            fired = [
                rule
                for rule in rules
                if (rule.kind is RuleKind.CATEGORY and rule.key in categories)
                or (rule.kind in _FACET_KINDS and rule.key in facets)
                or (rule.kind in _KEYWORD_KINDS and rule.key in patterns)
            ]
            if any(rule.kind is not RuleKind.EXCLUDE for rule in fired):
                explained[topic_id] = [f"{rule.kind.value}:{rule.text}" for rule in fired]
        return explained


_FACET_KINDS = frozenset(_FACET_RULE_KINDS.values())
_KEYWORD_KINDS = frozenset({RuleKind.KEYWORD, RuleKind.EXCLUDE})


def compile_matcher(rules: Iterable[TopicRules]) -> TopicMatcher:
    """Build a `TopicMatcher` for the given topics' rules."""
    return TopicMatcher(rules)
