"""The message catalogs are complete and up to date (run by `make test`), and the check bites.

The check (bot.locale.catalogs.check) compares a fresh extraction of the code with the
committed messages.pot, every .po with the .pot, French entries with their translations and
every .mo with its .po. The failing cases run on temporary copies.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from bot.locale import catalogs

PACKAGE = catalogs.package_dir()
LOCALE = PACKAGE / "locale"
FRENCH_PO = Path("fr") / "LC_MESSAGES" / "messages.po"


def test_catalogs_are_complete_and_up_to_date() -> None:
    """No text of the code is missing from the catalogs; French is complete; .mo compiled.

    On failure: run `make catalogs`, translate the new French entries, run it again.
    """
    assert catalogs.check(PACKAGE, LOCALE) == []


@pytest.fixture
def locale_copy(tmp_path: Path) -> Path:
    """A copy of bot/locale to break."""
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return copy


def _edit_french(locale_dir: Path, msgid: str, string: str, *, fuzzy: bool = False) -> None:
    path = locale_dir / FRENCH_PO
    with path.open("rb") as file:
        catalog = read_po(file, locale="fr")
    message = catalog[msgid]
    assert message is not None
    message.string = string
    if fuzzy:
        message.flags.add("fuzzy")
    with path.open("wb") as file:
        write_po(file, catalog, width=catalogs.WIDTH, no_location=True, sort_output=True)


def test_check_fails_when_a_french_entry_is_missing(locale_copy: Path) -> None:
    """An empty French translation is reported (and the .mo no longer matches its .po)."""
    _edit_french(locale_copy, "Read and act", "")
    problems = catalogs.check(PACKAGE, locale_copy)
    assert problems == [
        "fr: not translated: 'Read and act'",
        "fr: messages.mo is not compiled from its .po",
    ]


def test_check_fails_on_fuzzy_and_wrong_placeholders(locale_copy: Path) -> None:
    """A fuzzy entry and a translation whose placeholders differ are reported."""
    _edit_french(locale_copy, "Share", "Partager", fuzzy=True)
    _edit_french(locale_copy, "Follow %(topic)s", "Suivre %(sujet)s")
    problems = catalogs.check(PACKAGE, locale_copy)
    assert problems[:2] == ["fr: fuzzy: 'Share'", problems[1]]
    assert "Follow %(topic)s" in problems[1]
    assert problems[-1] == "fr: messages.mo is not compiled from its .po"


def test_check_fails_when_the_code_has_a_new_text(tmp_path: Path) -> None:
    """A text added to the code but not extracted: the .pot and both .po files lack it."""
    source = tmp_path / "bot"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("__pycache__"))
    with (source / "render" / "supporters.py").open("a", encoding="utf-8") as file:
        file.write('\n\nNEW_TEXT = N_("A brand new text")\n')
    problems = catalogs.check(source, source / "locale")
    assert problems == [
        "messages.pot is not the extraction of the code: run make catalogs",
        "en: missing entry 'A brand new text'",
        "fr: missing entry 'A brand new text'",
    ]


def test_update_then_check_round_trip(tmp_path: Path) -> None:
    """`make catalogs` on a copy with a new text adds it: English complete, French to do."""
    source = tmp_path / "bot"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("__pycache__"))
    with (source / "render" / "supporters.py").open("a", encoding="utf-8") as file:
        file.write('\n\nNEW_TEXT = N_("A brand new text")\n')
    catalogs.update(source, source / "locale")
    assert catalogs.check(source, source / "locale") == ["fr: not translated: 'A brand new text'"]
