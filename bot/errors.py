"""The error tree of Campaign Action Bot.

Every error the bot raises on purpose derives from `BotError` and carries the value that
identifies it (a URL, a slug, a variable name), so that a handler or the CLI can answer in one
clear line.
Contains no business logic.
"""

from __future__ import annotations


class BotError(Exception):
    """Root of every error raised on purpose by the bot."""


class ConfigError(BotError):
    """A setting is missing or invalid; `variable` names the environment variable."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable
        self.message = message


class FeedError(BotError):
    """Something went wrong with one feed; `url` names it."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{message} ({url})")
        self.url = url
        self.message = message


class FeedFetchError(FeedError):
    """The feed could not be retrieved (network, status, size, refused address)."""

    def __init__(self, url: str, message: str, status: int | None = None) -> None:
        super().__init__(url, message)
        self.status = status


class FeedRefusedError(FeedFetchError):
    """The feed URL is not allowed: bad scheme, or a private/loopback address (SSRF guard)."""


class FeedParseError(FeedError):
    """The bytes are not a feed we can read (no entries, and not a survivable bozo)."""


class NotFoundError(BotError):
    """A named thing (topic, feed, post, user) does not exist."""

    def __init__(self, kind: str, key: str, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(f"no {kind} {key!r}")
        self.kind = kind
        self.key = key
        self.suggestions = suggestions


class TopicNotFoundError(NotFoundError):
    """No topic matches the given slug or name."""

    def __init__(self, key: str, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__("topic", key, suggestions)


class FeedNotFoundError(NotFoundError):
    """No feed matches the given id or URL."""

    def __init__(self, key: str) -> None:
        super().__init__("feed", key)


class AlreadyExistsError(BotError):
    """A thing with the same unique key exists already."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} exists already")
        self.kind = kind
        self.key = key


class InvalidInputError(BotError):
    """User input (a command argument, a file) is not acceptable; the message says why.

    Made with `worded(template, **values)`, it also keeps the catalog message (`template`,
    English with `%(name)s` placeholders) and its `values`, so the reason can be shown in the
    reader's language; `str(error)` is always the English text.
    """

    def __init__(
        self, message: str, template: str | None = None, values: dict[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.template = template
        self.values = values or {}

    @classmethod
    def worded(cls, template: str, **values: object) -> InvalidInputError:
        """An error whose reason is the catalog message `template` filled with `values`."""
        return cls(template % values if values else template, template, values)


class NotAuthorisedError(BotError):
    """The caller's role does not allow the action."""
