"""A clock the tests set and advance by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """Starts at a fixed aware UTC time; `advance()` moves it forward."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """The current fake time."""
        return self.current

    def advance(self, seconds: float = 0, **kwargs: float) -> datetime:
        """Move forward and return the new time."""
        self.current += timedelta(seconds=seconds, **kwargs)
        return self.current
