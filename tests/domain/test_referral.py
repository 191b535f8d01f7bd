"""Referral codes: genuine codes name their message, forged ones nothing, links fit 64."""

from __future__ import annotations

import pytest

from bot.domain.referral import (
    BROADCAST,
    MAX_ID_DIGITS,
    POST,
    START_PARAMETER_CHARS,
    Referral,
    deep_link_parameter,
    make_code,
    read_code,
    split_subscription_key,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(32)
LONGEST_SLUG = "a" * 39 + "z"  # 40 characters, the most a slug may have
LARGEST_ID = 36**MAX_ID_DIGITS - 1


@pytest.mark.parametrize(("kind", "message_id"), [(POST, 1), (BROADCAST, 42), (POST, LARGEST_ID)])
def test_code_names_its_message(kind: str, message_id: int) -> None:
    """A code made under a key reads back as the same kind and id under that key."""
    code = make_code(KEY, kind, message_id)
    assert code is not None
    assert read_code(KEY, code) == Referral(kind, message_id)


def test_code_under_another_key_is_refused() -> None:
    """Another installation's code (another key) credits nothing here."""
    code = make_code(OTHER_KEY, POST, 7)
    assert code is not None
    assert read_code(KEY, code) is None


@pytest.mark.parametrize(
    "code",
    [
        "",
        "p7",
        "p7_",
        "x7_abcdef",
        "p7_abcde",
        "p7_abcdefg",
        "p-7_abcdef",
        "p0_aaaaaa",
        "p7_ABC189",
    ],
)
def test_malformed_codes_are_refused(code: str) -> None:
    """Anything not shaped like a code, or with a MAC that does not match, is no referral."""
    assert read_code(KEY, code) is None


def test_altered_codes_are_refused() -> None:
    """Changing the kind, the id or the MAC of a genuine code makes it worthless."""
    code = make_code(KEY, POST, 1234)
    assert code is not None
    letter, rest = code[0], code[1:]
    digits, _, mac = rest.partition("_")
    altered = [
        f"b{rest}",
        f"{letter}{digits}1_{mac}",
        f"{letter}{digits}_{mac[:-1]}{'b' if mac[-1] != 'b' else 'c'}",
    ]
    assert [read_code(KEY, c) for c in altered] == [None, None, None]


def test_longest_slug_with_largest_code_fits_the_start_parameter() -> None:
    """sub-<40-character slug>-<code of the largest id> is exactly 64 characters."""
    code = make_code(KEY, BROADCAST, LARGEST_ID)
    parameter = deep_link_parameter(LONGEST_SLUG, code)
    assert (len(parameter), parameter.endswith(f"-{code}")) == (START_PARAMETER_CHARS, True)


def test_an_id_too_large_for_a_link_gets_no_code() -> None:
    """An id beyond 11 base-36 digits gets no code, and its link subscribes only."""
    assert (make_code(KEY, POST, LARGEST_ID + 1), deep_link_parameter("t", None)) == (
        None,
        "sub-t",
    )


def test_start_parameter_allows_only_telegram_characters() -> None:
    """Letters, digits, '_' and '-' only: what Telegram accepts in a start parameter."""
    parameter = deep_link_parameter("write-for-rights", make_code(KEY, POST, 99))
    assert all(c.isascii() and (c.isalnum() or c in "_-") for c in parameter)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("write-for-rights-p2r_abcdef", ("write-for-rights", "p2r_abcdef")),
        ("write-for-rights", ("write-for-rights", None)),
        ("stop-bullying", ("stop-bullying", None)),
        ("stoptorture-b1_aaaaaa", ("stoptorture", "b1_aaaaaa")),
        ("-p1_aaaaaa", ("-p1_aaaaaa", None)),
    ],
)
def test_split_subscription_key(key: str, expected: tuple[str, str | None]) -> None:
    """Only a code-shaped last part (it has '_', which slugs never have) is split off."""
    assert split_subscription_key(key) == expected
