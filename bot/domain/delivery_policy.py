"""Pure delivery policy: what the answer to one send means for the outbox.

`decide_send` turns a `DeliveryOutcome` (what Telegram said) into a `SendDecision` (what to
store: sent, retry at a time, deactivate the chat, move it, resend as text, or fail);
`bot.services.delivery` only carries the decision out. No I/O: randomness comes in as a number
in [0, 1) so that tests can pin it.

Maintenance rule: a new `OutcomeKind` needs a row in tests/domain/test_delivery_policy.py.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.domain.types import DeliveryOutcome, OutcomeKind

MAX_BACKOFF_SECONDS = 3600.0
# Paid broadcasts (`allow_paid_broadcast`): Telegram's ceiling, and the price of each message
# above the free 30 a second (core.telegram.org/bots/faq).
PAID_RATE_PER_SECOND = 1000.0
FREE_BROADCAST_PER_SECOND = 30.0
STARS_PER_PAID_MESSAGE = 0.1
# A 429 never waits less than this, whatever retry_after says.
MIN_FLOOD_WAIT_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class PaidEstimate:
    """What "fast (paid)" means for one audience.

    Attributes:
        messages: Messages to send (one per chat).
        stars: Telegram Stars it costs at most: 0.1 for each message above the free 30 a
            second (Telegram charges only messages that are delivered).
        normal_seconds: How long the normal pace takes.
        paid_seconds: How long it takes at 1,000 a second.
    """

    messages: int
    stars: float
    normal_seconds: float
    paid_seconds: float

    @property
    def saved_seconds(self) -> float:
        """Time the paid pace saves."""
        return max(0.0, self.normal_seconds - self.paid_seconds)


def paid_estimate(messages: int, rate: float) -> PaidEstimate:
    """The cost and the time saved of a paid broadcast to `messages` chats (normal pace `rate`)."""
    messages = max(0, messages)
    paid_seconds = messages / PAID_RATE_PER_SECOND
    free = min(float(messages), FREE_BROADCAST_PER_SECOND * paid_seconds)
    stars = round((messages - free) * STARS_PER_PAID_MESSAGE, 1)
    return PaidEstimate(messages, stars, messages / rate, paid_seconds)


class SendAction(enum.Enum):
    """What the delivery service does with one delivery after a send."""

    MARK_SENT = "mark_sent"
    RETRY = "retry"  # reschedule the delivery `delay` seconds from now
    DEACTIVATE_CHAT = "deactivate_chat"  # the chat is inactive, its pending deliveries dropped
    MIGRATE_CHAT = "migrate_chat"  # move the chat to `new_chat_id`; the delivery goes again
    # The chat refuses photos, or Telegram could not use the image: the same message as text.
    RESEND_AS_TEXT = "resend_as_text"
    FAIL = "fail"  # recorded as failed with `reason`
    # The Stars balance cannot pay a paid broadcast: it goes on at the normal pace (the
    # broadcast is switched to unpaid) and this delivery is retried at once, no attempt spent.
    STOP_PAID = "stop_paid"


@dataclass(frozen=True, slots=True)
class SendDecision:
    """A `SendAction` with what carrying it out needs.

    Attributes:
        action: What to do.
        delay: Seconds to wait before the retry (RETRY only).
        count_attempt: Whether the retry spends one of the delivery's attempts.
        pause_all: Whether every send pauses for `delay` (a 429 is for the whole bot).
        reason: The error to record (deactivation reason, failure, last error of a retry).
        new_chat_id: The chat's new id (MIGRATE_CHAT only).
    """

    action: SendAction
    delay: float = 0.0
    count_attempt: bool = False
    pause_all: bool = False
    reason: str | None = None
    new_chat_id: int | None = None


def retry_delay(attempts: int, jitter: float) -> float:
    """Backoff before attempt `attempts + 1`: 2, 4, 8 … s (capped), plus up to 50 % jitter."""
    base = min(MAX_BACKOFF_SECONDS, 2.0 ** max(attempts, 1))
    return base * (1 + 0.5 * jitter)


def decide_send(
    outcome: DeliveryOutcome,
    *,
    attempts: int,
    max_attempts: int,
    with_photo: bool,
    jitter: float,
) -> SendDecision:
    """What to do with a delivery after Telegram answered `outcome`.

    Args:
        outcome: Telegram's answer, classified by the sender.
        attempts: Attempts already counted for this delivery (before this one).
        max_attempts: After this many counted attempts a transient error is final.
        with_photo: Whether the message was sent with a photo.
        jitter: A number in [0, 1) spreading retries apart.
    """
    kind = outcome.kind
    if kind is OutcomeKind.SENT:
        return SendDecision(SendAction.MARK_SENT)
    if kind is OutcomeKind.RETRY_AFTER:
        wait = max(outcome.retry_after, MIN_FLOOD_WAIT_SECONDS)
        return SendDecision(SendAction.RETRY, delay=wait, pause_all=True, reason=outcome.error)
    if kind is OutcomeKind.UNREACHABLE:
        return SendDecision(SendAction.DEACTIVATE_CHAT, reason=outcome.error or "unreachable")
    if kind is OutcomeKind.MIGRATED and outcome.new_chat_id is not None:
        return SendDecision(
            SendAction.MIGRATE_CHAT, new_chat_id=outcome.new_chat_id, reason=outcome.error
        )
    if kind is OutcomeKind.PAID_REFUSED:
        return SendDecision(SendAction.STOP_PAID, reason=outcome.error)
    if kind in (OutcomeKind.MEDIA_REFUSED, OutcomeKind.IMAGE_REFUSED) and with_photo:
        return SendDecision(SendAction.RESEND_AS_TEXT, reason=outcome.error)
    if kind is OutcomeKind.TRANSIENT and attempts + 1 < max_attempts:
        return SendDecision(
            SendAction.RETRY,
            delay=retry_delay(attempts + 1, jitter),
            count_attempt=True,
            reason=outcome.error,
        )
    return SendDecision(SendAction.FAIL, reason=outcome.error or kind.value)
