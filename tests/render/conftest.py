"""Fixtures for the render tests."""

from __future__ import annotations

import locale
from collections.abc import Iterator

import pytest

# Locales whose month and day names are not English; the first one installed is used.
NON_ENGLISH_LOCALES = (
    "fr_FR.UTF-8",
    "fr_FR.utf8",
    "de_DE.UTF-8",
    "de_DE.utf8",
    "es_ES.UTF-8",
    "ru_RU.UTF-8",
    "French_France.1252",
)


@pytest.fixture
def non_english_time() -> Iterator[str]:
    """LC_TIME set to an installed non-English locale (left as it is when none is installed)."""
    saved = locale.setlocale(locale.LC_TIME)
    chosen = saved
    for name in NON_ENGLISH_LOCALES:
        try:
            chosen = locale.setlocale(locale.LC_TIME, name)
        except locale.Error:
            continue
        break
    yield chosen
    locale.setlocale(locale.LC_TIME, saved)
