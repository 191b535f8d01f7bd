"""Topics files: parsing, validation messages, and the bundled default topics."""

from __future__ import annotations

import pytest

from bot.domain.matching import TopicMatcher
from bot.domain.topics import (
    check_action_label,
    default_topics_text,
    parse_topics_toml,
    validate_slug,
)
from bot.domain.types import ParsedEntry, TopicRules, TopicSpec
from bot.errors import InvalidInputError

MINIMAL = '[[topic]]\nslug = "stoptorture"\nname = "StopTorture"\n'


def _topic_toml(**fields: object) -> str:
    """A file with one topic: a valid slug and name, overridden or extended by `fields`."""
    values: dict[str, object] = {"slug": "stoptorture", "name": "StopTorture"} | fields
    lines = [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    return "[[topic]]\n" + "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    """A TOML literal for a str, int or list of str (enough for these tests)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return '"' + escaped.replace("\n", "\\n").replace("\u0007", "\\u0007") + '"'
    return str(value)


def _error(text: str) -> str:
    """The message of the error that parsing `text` raises."""
    with pytest.raises(InvalidInputError) as caught:
        parse_topics_toml(text, source="topics.toml")
    return str(caught.value)


# -- slugs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["stoptorture", "write-for-rights", "w4r", "a", "2024", "a" * 40])
def test_validate_slug_accepts_lowercase_letters_digits_and_hyphens(slug: str) -> None:
    """Valid slugs come back unchanged."""
    assert validate_slug(slug) == slug


def test_validate_slug_strips_surrounding_whitespace() -> None:
    """Spaces around a slug are not part of it."""
    assert validate_slug("  stoptorture\n") == "stoptorture"


@pytest.mark.parametrize(
    ("slug", "suggestion"),
    [
        ("Write for Rights", ", e.g. 'write-for-rights'"),
        ("StopTorture", ", e.g. 'stoptorture'"),
        ("-w4r-", ", e.g. 'w4r'"),
        ("write--", ", e.g. 'write'"),
        ("sámi_rights", ", e.g. 'sami-rights'"),
        ("a" * 41, ", e.g. '" + "a" * 40 + "'"),
        ("", ""),
        ("✋", ""),
    ],
)
def test_validate_slug_rejects_and_suggests(slug: str, suggestion: str) -> None:
    """An invalid slug is refused with the rule and, when possible, a valid spelling."""
    with pytest.raises(InvalidInputError) as caught:
        validate_slug(slug)
    assert str(caught.value) == (
        f"slug {slug!r} is not valid: use 1-40 lowercase letters a-z, digits and hyphens,"
        f" starting and ending with a letter or digit{suggestion}"
    )


# -- parsing -------------------------------------------------------------------------------


def test_parse_reads_every_field() -> None:
    """A complete topic becomes a TopicSpec; `exclude` in the file is `excludes` in the spec."""
    text = _topic_toml(
        emoji="✋",
        description="Torture and ill-treatment.",
        categories=["StopTorture", "Torture"],
        keywords=["torture", "tortur*"],
        exclude=["tortoise"],
    )
    assert parse_topics_toml(text) == [
        TopicSpec(
            slug="stoptorture",
            name="StopTorture",
            description="Torture and ill-treatment.",
            emoji="✋",
            categories=("StopTorture", "Torture"),
            keywords=("torture", "tortur*"),
            excludes=("tortoise",),
        )
    ]


def test_parse_defaults_optional_fields() -> None:
    """Description, emoji and rules may be left out."""
    assert parse_topics_toml(MINIMAL) == [TopicSpec(slug="stoptorture", name="StopTorture")]


def test_parse_strips_whitespace() -> None:
    """Whitespace around names, descriptions and rules is dropped."""
    text = _topic_toml(name=" StopTorture ", description=" Text. ", keywords=["  torture "])
    spec = parse_topics_toml(text)[0]
    assert (spec.name, spec.description, spec.keywords) == ("StopTorture", "Text.", ("torture",))


def test_parse_keeps_file_order() -> None:
    """Topics come back in the order the file lists them."""
    text = MINIMAL + '[[topic]]\nslug = "w4r"\nname = "Write for Rights"\n'
    assert [s.slug for s in parse_topics_toml(text)] == ["stoptorture", "w4r"]


def test_parse_empty_file_gives_no_topics() -> None:
    """A file without topics is valid and empty."""
    assert parse_topics_toml("# nothing yet\n") == []


@pytest.mark.parametrize(
    "fields",
    [
        {"slug": "a" * 40},
        {"name": "N" * 64},
        {"description": "d" * 300},
        {"emoji": "🏳️‍🌈"},
        {"keywords": ["k" * 100]},
        {"categories": ["c"] * 100, "keywords": ["k"] * 99, "exclude": ["x"]},
        {"keywords": ["tor*"]},
    ],
    ids=["slug 40", "name 64", "description 300", "emoji", "rule 100", "200 rules", "stem 3"],
)
def test_parse_accepts_values_at_the_limits(fields: dict[str, object]) -> None:
    """Values exactly at each limit are accepted."""
    assert len(parse_topics_toml(_topic_toml(**fields))) == 1


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[[topic]\nslug = 1\n",
            "topics.toml: not valid TOML: Expected ']]' at the end of an array declaration"
            " (at line 1, column 8)",
        ),
        (
            'topics = [{slug = "a"}]\n',
            "topics.toml: unknown top-level key 'topics'; topics are [[topic]] tables",
        ),
        ('topic = "stoptorture"\n', "topics.toml: 'topic' must be written as [[topic]] tables"),
    ],
    ids=["toml syntax", "unknown top-level key", "topic not tables"],
)
def test_parse_rejects_a_malformed_file(text: str, expected: str) -> None:
    """File-level problems name the source and, for TOML syntax, the line and column."""
    assert _error(text) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"slug": "Stop Torture"},
            "topic 1 ('Stop Torture'): slug 'Stop Torture' is not valid: use 1-40 lowercase"
            " letters a-z, digits and hyphens, starting and ending with a letter or digit,"
            " e.g. 'stop-torture'",
        ),
        ({"slug": 7}, "topic 1: slug must be a string, got int"),
        ({"name": ""}, "topic 1 ('stoptorture'): name must be 1-64 characters, got 0"),
        ({"name": "N" * 65}, "topic 1 ('stoptorture'): name must be 1-64 characters, got 65"),
        ({"name": "✋ ✋"}, "topic 1 ('stoptorture'): name '✋ ✋' has no letters or digits"),
        (
            {"description": "d" * 301},
            "topic 1 ('stoptorture'): description must be at most 300 characters, got 301",
        ),
        (
            {"emoji": "✋" * 9},
            "topic 1 ('stoptorture'): emoji must be at most 8 characters, got 9",
        ),
        (
            {"keyword": ["torture"]},
            "topic 1 ('stoptorture'): unknown key 'keyword'; expected one of: slug, name,"
            " name_fr, emoji, description, description_fr, action, urgent, preview, categories,"
            " keywords, exclude, countries, types",
        ),
        ({"keywords": "torture"}, "topic 1 ('stoptorture'): keywords must be a list of strings"),
        ({"exclude": ["a", 1]}, "topic 1 ('stoptorture'): exclude must be a list of strings"),
        (
            {"keywords": ["k" * 101]},
            f"topic 1 ('stoptorture'): each of keywords must be 1-100 characters: {'k' * 101!r}",
        ),
        (
            {"categories": [" "]},
            "topic 1 ('stoptorture'): each of categories must be 1-100 characters: ''",
        ),
        (
            {"categories": ["#"]},
            "topic 1 ('stoptorture'): category '#' has no letters or digits",
        ),
        (
            {"keywords": ["—"]},
            "topic 1 ('stoptorture'): keywords rule '—' has no letters or digits",
        ),
        (
            {"exclude": ["foot*ball"]},
            "topic 1 ('stoptorture'): exclude rule 'foot*ball': '*' is only allowed once,"
            " at the end, right after a word",
        ),
        (
            {"keywords": ["tortur**"]},
            "topic 1 ('stoptorture'): keywords rule 'tortur**': '*' is only allowed once,"
            " at the end, right after a word",
        ),
        (
            {"keywords": ["to*"]},
            "topic 1 ('stoptorture'): keywords rule 'to*': keep at least 3 letters before the '*'",
        ),
        (
            {"categories": ["c"] * 100, "keywords": ["k"] * 100, "exclude": ["x"]},
            "topic 1 ('stoptorture'): has 201 rules (categories, keywords, excludes, countries"
            " and types); at most 200 allowed",
        ),
    ],
    ids=[
        "bad slug",
        "slug not a string",
        "empty name",
        "long name",
        "name without letters",
        "long description",
        "long emoji",
        "unknown key",
        "rules not a list",
        "rule not a string",
        "long rule",
        "blank rule",
        "category without letters",
        "keyword without letters",
        "star inside",
        "two stars",
        "short stem",
        "too many rules",
    ],
)
def test_parse_error_names_topic_and_problem(fields: dict[str, object], expected: str) -> None:
    """An invalid topic is reported with the source, its index and slug, and the problem."""
    assert _error(_topic_toml(**fields)) == f"topics.toml: {expected}"


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        (
            '[[topic]]\nslug = "stoptorture"\nname = "Torture"\n',
            "topic 2 ('stoptorture'): slug 'stoptorture' is the same as the slug of topic 1",
        ),
        (
            '[[topic]]\nslug = "stop-torture"\nname = "Torture"\n',
            "topic 2 ('stop-torture'): slug 'stop-torture' is the same as the slug of topic 1",
        ),
        (
            '[[topic]]\nslug = "torture"\nname = "Stop-Torture"\n',
            "topic 2 ('torture'): name 'Stop-Torture' is the same as the slug of topic 1",
        ),
    ],
    ids=["same slug", "same slug key", "name equals other slug"],
)
def test_parse_rejects_clashing_slugs_and_names(second: str, expected: str) -> None:
    """Slugs and names must be unique across topics, ignoring case, accents and punctuation."""
    assert _error(MINIMAL + second) == (
        f"topics.toml: {expected} ('stoptorture') (slugs and names must differ ignoring case,"
        " accents and punctuation)"
    )


def test_parse_error_counts_topics_from_one() -> None:
    """The index in an error is the topic's position in the file, starting at 1."""
    text = MINIMAL + '[[topic]]\nslug = "w4r"\nname = "W"\n[[topic]]\nslug = "x"\n'
    assert _error(text) == "topics.toml: topic 3 ('x'): name is missing"


def test_parse_error_names_the_default_source() -> None:
    """Without a source, errors speak of "topics file"."""
    with pytest.raises(InvalidInputError) as caught:
        parse_topics_toml('[[topic]]\nname = "X"\n')
    assert str(caught.value) == "topics file: topic 1: slug is missing"


# -- the bundled default topics -----------------------------------------------------------

DEFAULTS = parse_topics_toml(default_topics_text(), source="bundled topics.toml")
DEFAULT_MATCHER = TopicMatcher(
    TopicRules(i, s.slug, s.categories, s.keywords, s.excludes) for i, s in enumerate(DEFAULTS)
)


def _default_slugs(title: str, summary: str = "", categories: tuple[str, ...] = ()) -> set[str]:
    """The default topics an entry matches, by slug."""
    entry = ParsedEntry("urn:test", None, title, summary, categories=categories)
    return {DEFAULTS[i].slug for i in DEFAULT_MATCHER.match(entry)}


def test_default_topics_are_the_three_campaigns() -> None:
    """The bundled file defines StopTorture, Write for Rights and Indigenous rights."""
    assert [(s.slug, s.name) for s in DEFAULTS] == [
        ("stoptorture", "StopTorture"),
        ("write-for-rights", "Write for Rights"),
        ("indigenous-rights", "Indigenous rights"),
    ]


@pytest.mark.parametrize("spec", DEFAULTS, ids=lambda s: s.slug)
def test_default_topics_are_described(spec: TopicSpec) -> None:
    """Each default topic has an emoji, a description, categories and keywords."""
    assert all((spec.emoji, spec.description, spec.categories, spec.keywords))


@pytest.mark.parametrize(
    ("title", "summary", "categories", "expected"),
    [
        (
            "Detainees describe torture in secret prisons",
            "Survivors speak out about beatings and stress positions.",
            (),
            {"stoptorture"},
        ),
        (
            "Police officers accused of torturing protesters",
            "Lawyers say confessions were extracted under duress.",
            (),
            {"stoptorture"},
        ),
        (
            "Guantánamo: another year of indefinite detention",
            "Thirty men remain held without charge.",
            (),
            {"stoptorture"},
        ),
        (
            "Families still searching",
            "Activist victim of an enforced disappearance, says UN.",
            (),
            {"stoptorture"},
        ),
        ("Our new report", "Read it today.", ("Stop Torture",), {"stoptorture"}),
        (
            "Write for Rights 2026 is here",
            "Join millions of people taking action for individuals at risk.",
            (),
            {"write-for-rights"},
        ),
        (
            "Host a letter writing event this December",
            "Our global letter-writing marathon needs you.",
            (),
            {"write-for-rights"},
        ),
        (
            "Send solidarity cards to Maria",
            "Your words can keep her going.",
            (),
            {"write-for-rights"},
        ),
        ("Join us! #WriteForRights", "", (), {"write-for-rights"}),
        (
            "Red dresses for missing and murdered Indigenous women",
            "Families demand a national inquiry.",
            (),
            {"indigenous-rights"},
        ),
        (
            "Marching for #MMIWG2S in Winnipeg",
            "Families of missing women and girls lead the walk.",
            (),
            {"indigenous-rights"},
        ),
        (
            "Court sides with Sámi reindeer herders",
            "Wind farm on grazing land breached their rights.",
            (),
            {"indigenous-rights"},
        ),
        (
            "Mapuche land defenders face prosecution",
            "Charges follow protests against logging.",
            (),
            {"indigenous-rights"},
        ),
        (
            "First Nations chiefs reject pipeline",
            "They say free, prior and informed consent was never sought.",
            (),
            {"indigenous-rights"},
        ),
        (
            "Write letters for tortured Indigenous activists",
            "Write for Rights cases this year.",
            (),
            {"stoptorture", "write-for-rights", "indigenous-rights"},
        ),
    ],
)
def test_default_topics_match_campaign_posts(
    title: str, summary: str, categories: tuple[str, ...], expected: set[str]
) -> None:
    """Realistic campaign posts match their topics, with or without categories."""
    assert _default_slugs(title, summary, categories) == expected


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Football match: staff vs volunteers", "Come and cheer on Saturday at the park."),
        ("A bake sale for the office", "Cakes on Friday, all proceeds to the kitchen fund."),
        (
            "Norway was one of the first nations to abolish the death penalty",
            "A look back at a century of reform.",
        ),
        ("Sami al-Hajj freed after six years", "The journalist returns home to Sudan."),
        (
            "Vacancy: campaigns officer",
            "To apply, write a letter explaining your interest; a cover letter is required.",
        ),
        ("Art exhibition on copyrights", "An article about distortion in photography."),
    ],
    ids=["football", "bake sale", "first nations to", "given name Sami", "job advert", "words"],
)
def test_default_topics_ignore_unrelated_posts(title: str, summary: str) -> None:
    """Posts that are not about the campaigns match no default topic."""
    assert _default_slugs(title, summary) == set()


# -- action labels ---------------------------------------------------------------------------


def test_parse_reads_the_action_label_trimmed() -> None:
    """`action` is the label of the topic's action button, without surrounding spaces."""
    (spec,) = parse_topics_toml(_topic_toml(action="  ✍️ I wrote my letter "))
    assert spec.action == "✍️ I wrote my letter"


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("x" * 41, "an action label is at most 40 characters, not 41"),
        ("I wrote\nmy letter", "an action label is 1-40 characters on one line"),
        ("tab\u0007bell", "an action label is 1-40 characters on one line"),
    ],
)
def test_parse_rejects_a_bad_action_label(action: str, expected: str) -> None:
    """Too long, two lines or a control character: the error names the topic."""
    assert (
        _error(_topic_toml(action=action)) == f"topics.toml: topic 1 ('stoptorture'): {expected}"
    )


@pytest.mark.parametrize("label", ["✅ I did it", "👩‍💻 I emailed", "x" * 40, " ok "])
def test_check_action_label_accepts_one_short_line(label: str) -> None:
    """Emoji sequences with joiners are fine; the label comes back trimmed."""
    assert check_action_label(label) == label.strip()


def test_default_write_for_rights_has_a_letter_button() -> None:
    """The bundled Write for Rights topic carries an action label; StopTorture none."""
    labels = {s.slug: s.action for s in DEFAULTS}
    assert (labels["write-for-rights"], labels["stoptorture"]) == ("✍️ I wrote my letter", "")


# -- French names, descriptions and keywords ---------------------------------------------------


def test_parse_reads_the_french_name_and_description() -> None:
    """name_fr and description_fr are optional and kept trimmed."""
    spec = parse_topics_toml(
        _topic_toml(name_fr="  Halte à la torture ", description_fr=" Une phrase. ")
    )[0]
    assert (spec.name_fr, spec.description_fr) == ("Halte à la torture", "Une phrase.")
    assert parse_topics_toml(MINIMAL)[0].name_fr == ""


def test_parse_rejects_a_french_name_clashing_with_another_topic() -> None:
    """A French name is a topic argument too: it may not name another topic."""
    second = '[[topic]]\nslug = "w4r"\nname = "W4R"\nname_fr = "Stop torture"\n'
    assert _error(MINIMAL + second) == (
        "topics.toml: topic 2 ('w4r'): name_fr 'Stop torture' is the same as the slug of topic 1"
        " ('stoptorture') (slugs and names must differ ignoring case, accents and punctuation)"
    )


def test_parse_rejects_a_french_name_without_letters() -> None:
    """A French name needs a letter or a digit, like the English one."""
    assert _error(_topic_toml(name_fr="« »")) == (
        "topics.toml: topic 1 ('stoptorture'): name_fr '« »' has no letters or digits"
    )


def test_default_topics_have_french_names_and_descriptions() -> None:
    """The bundled topics ship with their French names and descriptions."""
    assert [s.name_fr for s in DEFAULTS] == [
        "Halte à la torture",
        "Écrire pour les droits",
        "Droits des peuples autochtones",
    ]
    assert all(s.description_fr for s in DEFAULTS)


@pytest.mark.parametrize(
    ("title", "summary", "expected"),
    [
        (
            "Iran : un prisonnier d'opinion torturé en détention",
            "Ses proches dénoncent des aveux forcés.",
            {"stoptorture"},
        ),
        (
            "Mexique : les disparitions forcées se multiplient",
            "Des familles cherchent leurs proches.",
            {"stoptorture"},
        ),
        (
            "Signez la pétition pour Ahmed",
            "Écrivez une lettre de solidarité avant le 10 décembre.",
            {"write-for-rights"},
        ),
        (
            "Les Premières Nations défendent leurs terres ancestrales",
            "Les communautés autochtones exigent un consentement préalable, libre et éclairé.",
            {"indigenous-rights"},
        ),
    ],
    ids=["prisoner of conscience", "enforced disappearances", "petition", "first nations"],
)
def test_default_topics_match_french_campaign_posts(
    title: str, summary: str, expected: set[str]
) -> None:
    """French campaign posts match the same topics as their English versions."""
    assert _default_slugs(title, summary) == expected


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Le Canada, l'une des premières nations à ratifier le traité", "Un siècle de réformes."),
        ("Offre d'emploi : chargé de campagne", "Envoyez votre lettre de motivation."),
    ],
    ids=["premières nations à", "job advert"],
)
def test_default_topics_ignore_unrelated_french_posts(title: str, summary: str) -> None:
    """French posts that are not about the campaigns match no default topic."""
    assert _default_slugs(title, summary) == set()


# -- urgent and preview ----------------------------------------------------------------------


def test_parse_reads_urgent_and_preview() -> None:
    """`urgent = true` and `preview = "off"|"small"|"large"` (any case) reach the spec; left
    out, a topic is not urgent and its preview is small."""
    urgent = parse_topics_toml(_topic_toml(urgent=True, preview="Large"))[0]
    plain = parse_topics_toml(MINIMAL)[0]
    assert (urgent.urgent, urgent.preview, plain.urgent, plain.preview) == (
        True,
        "large",
        False,
        "small",
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"urgent": "yes"}, "urgent must be true or false, got str"),
        ({"preview": "huge"}, "the link preview is off, small or large, not 'huge'"),
        ({"preview": 1}, "preview must be a string, got int"),
    ],
)
def test_parse_rejects_bad_urgent_or_preview(fields: dict[str, object], expected: str) -> None:
    assert _error(_topic_toml(**fields)).endswith(expected)
