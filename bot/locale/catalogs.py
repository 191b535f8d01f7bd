"""The message catalogs' tooling: extract, update, compile and check (`make catalogs`).

`python -m bot.locale.catalogs` extracts every `gettext`/`ngettext`/`N_` string of bot/ into
bot/locale/messages.pot, merges it into each language's messages.po (new entries empty, gone
ones dropped; no fuzzy guesses) and compiles the .mo files the bot reads at run time.
`python -m bot.locale.catalogs --check` changes nothing and lists what is out of date: the
.pot differs from a fresh extraction (dates aside), a .po lacks an entry or has one the code
no longer uses, a French entry is empty or fuzzy or its placeholders differ, or a .mo is not
the compilation of its .po. The test suite runs the check (tests/test_catalogs.py).

Catalogs carry no source locations and are sorted by message: a moved line changes nothing
and two branches adding strings merge as two added entries.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

DOMAIN = "messages"
PROJECT = "campaignbot"
# Languages with a catalog; the first is the language of the code's own texts.
LANGUAGES = ("en", "fr")
# Languages whose every entry must be translated (English is the source text itself).
TRANSLATED = ("fr",)
KEYWORDS = {**DEFAULT_KEYWORDS}
METHOD_MAP = [("**/locale/**.py", "ignore"), ("**.py", "python")]
WIDTH = 99
# A fixed date keeps the catalogs byte-stable: only their content changes them.
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def package_dir() -> Path:
    """The bot package (the sources extracted, and bot/locale beneath it)."""
    return Path(__file__).resolve().parent.parent


def extract(source: Path) -> Catalog:
    """Every translatable message of the sources under `source`."""
    catalog = Catalog(
        project=PROJECT,
        version="",
        creation_date=_EPOCH,
        revision_date=_EPOCH,
        msgid_bugs_address="",
        copyright_holder="",
        charset="utf-8",
    )
    for _filename, _lineno, message, comments, context in extract_from_dir(
        str(source), METHOD_MAP, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
    ):
        catalog.add(message, None, auto_comments=comments, context=context)
    return catalog


def _po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=WIDTH, no_location=True, sort_output=True, ignore_obsolete=True)
    return out.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=locale, domain=DOMAIN)


def _without_dates(text: bytes) -> bytes:
    return b"\n".join(
        line
        for line in text.splitlines()
        if not line.startswith((b'"POT-Creation-Date:', b'"PO-Revision-Date:'))
    )


def _po_path(locale_dir: Path, language: str) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def update(source: Path, locale_dir: Path) -> None:
    """Extract, write the .pot, merge it into every .po and compile the .mo files."""
    template = extract(source)
    (locale_dir / f"{DOMAIN}.pot").write_bytes(_po_bytes(template))
    for language in LANGUAGES:
        po_path = _po_path(locale_dir, language)
        if po_path.exists():
            catalog = _read(po_path, language)
        else:
            po_path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, domain=DOMAIN, project=PROJECT, version="")
            catalog.creation_date = _EPOCH
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.revision_date = _EPOCH
        po_path.write_bytes(_po_bytes(catalog))
        compiled = _read(po_path, language)
        po_path.with_suffix(".mo").write_bytes(_mo_bytes(compiled))


def _ids(catalog: Catalog) -> set[object]:
    return {message.id for message in catalog if message.id}


def check(source: Path, locale_dir: Path) -> list[str]:
    """What is out of date in the catalogs (an empty list: all is well)."""
    problems: list[str] = []
    template = extract(source)
    pot_path = locale_dir / f"{DOMAIN}.pot"
    if not pot_path.exists() or _without_dates(pot_path.read_bytes()) != _without_dates(
        _po_bytes(template)
    ):
        problems.append(f"{pot_path.name} is not the extraction of the code: run make catalogs")
    wanted = _ids(template)
    for language in LANGUAGES:
        po_path = _po_path(locale_dir, language)
        if not po_path.exists():
            problems.append(f"{language}: {po_path.name} is missing: run make catalogs")
            continue
        catalog = _read(po_path, language)
        have = _ids(catalog)
        problems += [f"{language}: missing entry {m!r}" for m in sorted(map(str, wanted - have))]
        problems += [f"{language}: unused entry {m!r}" for m in sorted(map(str, have - wanted))]
        if language in TRANSLATED:
            for message in catalog:
                if not message.id:
                    continue
                strings = (
                    message.string if isinstance(message.string, tuple) else (message.string,)
                )
                if not all(strings):
                    problems.append(f"{language}: not translated: {message.id!r}")
                elif message.fuzzy:
                    problems.append(f"{language}: fuzzy: {message.id!r}")
            for message, errors in catalog.check():
                problems += [f"{language}: {message.id!r}: {error}" for error in errors]
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.read_bytes() != _mo_bytes(catalog):
            problems.append(f"{language}: {mo_path.name} is not compiled from its .po")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """`make catalogs` (update) and `--check`."""
    parser = argparse.ArgumentParser(prog="python -m bot.locale.catalogs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    args = parser.parse_args(argv)
    source = package_dir()
    locale_dir = source / "locale"
    if args.check:
        problems = check(source, locale_dir)
        for problem in problems:
            print(problem, file=sys.stderr)  # noqa: T201 - a command-line tool
        return 1 if problems else 0
    update(source, locale_dir)
    problems = check(source, locale_dir)
    for problem in problems:
        print(problem, file=sys.stderr)  # noqa: T201 - a command-line tool
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
