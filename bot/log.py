"""Logging set-up: one line per event, text or JSON, and never the bot token.

stdlib logging with key-value context passed in `extra=`; httpx and apscheduler are quieted
(httpx logs request URLs, which contain the token). Every field of a record is redacted, the
message and each `extra=` value alike: token-shaped strings, `/bot<token>` paths, URL
credentials and the secrets given to `configure_logging`. Contains no business logic.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_REDACTED = "[redacted]"
# Anything shaped like a Telegram token (digits:secret), wherever it appears.
_TOKEN_RE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}\b")
# A Bot API path, `/bot<token>/<method>`, whatever the token looks like (test tokens are short).
_BOT_PATH_RE = re.compile(r"/bot\d+:[^/\s?#\"']+")
# The user-info part of a URL, `scheme://user:password@host`.
_URL_CREDENTIALS_RE = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/@]+@")
# Values logged as they are; anything else is logged as its (redacted) text.
_PLAIN = (int, float, bool, type(None))


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Replace bot tokens, Bot API paths, URL credentials (and any given secret) in text."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    text = _BOT_PATH_RE.sub(f"/bot{_REDACTED}", text)
    text = _URL_CREDENTIALS_RE.sub(rf"\1{_REDACTED}@", text)
    return _TOKEN_RE.sub(_REDACTED, text)


def _scrub(value: object, secrets: tuple[str, ...]) -> object:
    """A logged value with secrets removed: strings redacted, containers walked."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, dict):
        return {str(k): _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_scrub(v, secrets) for v in value]
    return redact(str(value), secrets)


def _context(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class RedactingFilter(logging.Filter):
    """Render the message once and scrub every `extra=` field, so no format can leak a secret."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message, context fields, exception and stack text."""
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        for key, value in _context(record).items():
            setattr(record, key, _scrub(value, self.secrets))
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


class ExpectedSkipFilter(logging.Filter):
    """Drop APScheduler's warning that a run was skipped because the last one still runs.

    Every repeating job is added with `max_instances=1` on purpose (a poll cycle over many
    feeds outlasts several ticks): a skipped tick is the design, not a problem to report.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but that one."""
        return "maximum number of running instances reached" not in record.getMessage()


class TextFormatter(logging.Formatter):
    """`time level logger: message key=value …`."""

    def format(self, record: logging.LogRecord) -> str:
        """Format one line (plus an exception block if any)."""
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        extras = " ".join(f"{k}={v}" for k, v in _context(record).items())
        line = f"{when} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            line = f"{line} {extras}"
        if record.exc_text:
            line = f"{line}\n{record.exc_text}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """Format one JSON line."""
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        payload.update(_context(record))
        if record.exc_text:
            payload["exception"] = record.exc_text
        return json.dumps(payload, default=str, ensure_ascii=False)


def configure_logging(
    level: str = "INFO", fmt: str = "text", secrets: tuple[str, ...] = ()
) -> None:
    """Install one stderr handler on the root logger."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "aiosqlite", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    scheduler = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, ExpectedSkipFilter) for f in scheduler.filters):
        scheduler.addFilter(ExpectedSkipFilter())
