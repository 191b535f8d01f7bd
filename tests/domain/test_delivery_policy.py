"""What each answer to a send means for the outbox: one table, every outcome kind."""

from __future__ import annotations

import pytest

from bot.domain.delivery_policy import (
    MAX_BACKOFF_SECONDS,
    SendAction,
    SendDecision,
    decide_send,
    paid_estimate,
    retry_delay,
)
from bot.domain.types import DeliveryOutcome, OutcomeKind

K = OutcomeKind


@pytest.mark.parametrize(
    ("outcome", "attempts", "with_photo", "expected"),
    [
        (DeliveryOutcome(K.SENT, message_id=7), 0, False, SendDecision(SendAction.MARK_SENT)),
        (
            DeliveryOutcome(K.RETRY_AFTER, retry_after=12, error="Too Many Requests"),
            3,
            False,
            SendDecision(SendAction.RETRY, delay=12, pause_all=True, reason="Too Many Requests"),
        ),
        (
            DeliveryOutcome(K.RETRY_AFTER, retry_after=0),
            7,
            False,
            SendDecision(SendAction.RETRY, delay=1.0, pause_all=True),
        ),
        (
            DeliveryOutcome(K.UNREACHABLE, error="Forbidden: bot was blocked by the user"),
            0,
            False,
            SendDecision(
                SendAction.DEACTIVATE_CHAT, reason="Forbidden: bot was blocked by the user"
            ),
        ),
        (
            DeliveryOutcome(K.UNREACHABLE),
            0,
            False,
            SendDecision(SendAction.DEACTIVATE_CHAT, reason="unreachable"),
        ),
        (
            DeliveryOutcome(K.MIGRATED, new_chat_id=-1002, error="migrated"),
            0,
            False,
            SendDecision(SendAction.MIGRATE_CHAT, new_chat_id=-1002, reason="migrated"),
        ),
        (
            DeliveryOutcome(K.MIGRATED, error="migrated, but no new id"),
            0,
            False,
            SendDecision(SendAction.FAIL, reason="migrated, but no new id"),
        ),
        (
            DeliveryOutcome(K.MEDIA_REFUSED, error="not enough rights to send photos"),
            0,
            True,
            SendDecision(SendAction.RESEND_AS_TEXT, reason="not enough rights to send photos"),
        ),
        (
            DeliveryOutcome(K.MEDIA_REFUSED, error="not enough rights to send photos"),
            0,
            False,
            SendDecision(SendAction.FAIL, reason="not enough rights to send photos"),
        ),
        (
            DeliveryOutcome(K.IMAGE_REFUSED, error="Wrong type of the web page content"),
            0,
            True,
            SendDecision(SendAction.RESEND_AS_TEXT, reason="Wrong type of the web page content"),
        ),
        (
            DeliveryOutcome(K.IMAGE_REFUSED, error="Failed to get http url content"),
            0,
            False,
            SendDecision(SendAction.FAIL, reason="Failed to get http url content"),
        ),
        (
            DeliveryOutcome(K.TRANSIENT, error="Timed out"),
            0,
            False,
            SendDecision(SendAction.RETRY, delay=2.0, count_attempt=True, reason="Timed out"),
        ),
        (
            DeliveryOutcome(K.TRANSIENT, error="Bad Gateway"),
            2,
            False,
            SendDecision(SendAction.RETRY, delay=8.0, count_attempt=True, reason="Bad Gateway"),
        ),
        (
            DeliveryOutcome(K.TRANSIENT, error="Bad Gateway"),
            7,
            False,
            SendDecision(SendAction.FAIL, reason="Bad Gateway"),
        ),
        (
            DeliveryOutcome(K.TRANSIENT),
            7,
            False,
            SendDecision(SendAction.FAIL, reason="transient"),
        ),
        (
            DeliveryOutcome(K.PERMANENT, error="Bad Request: can't parse entities"),
            0,
            False,
            SendDecision(SendAction.FAIL, reason="Bad Request: can't parse entities"),
        ),
        (
            DeliveryOutcome(K.PAID_REFUSED, error="Balance_too_low"),
            7,
            True,
            SendDecision(SendAction.STOP_PAID, reason="Balance_too_low"),
        ),
    ],
)
def test_decide_send_maps_each_outcome_to_one_action(
    outcome: DeliveryOutcome, attempts: int, with_photo: bool, expected: SendDecision
) -> None:
    """Each outcome kind, at each attempt count, leads to exactly the expected decision."""
    decision = decide_send(
        outcome, attempts=attempts, max_attempts=8, with_photo=with_photo, jitter=0.0
    )
    assert decision == expected


def test_every_outcome_kind_is_decided_on_purpose() -> None:
    """Each outcome kind (first attempt, with a photo) has its own action; new kinds fail."""
    decided = {
        kind: decide_send(
            DeliveryOutcome(kind, new_chat_id=-1002),
            attempts=0,
            max_attempts=8,
            with_photo=True,
            jitter=0.0,
        ).action
        for kind in OutcomeKind
    }
    assert decided == {
        K.SENT: SendAction.MARK_SENT,
        K.RETRY_AFTER: SendAction.RETRY,
        K.UNREACHABLE: SendAction.DEACTIVATE_CHAT,
        K.MIGRATED: SendAction.MIGRATE_CHAT,
        K.MEDIA_REFUSED: SendAction.RESEND_AS_TEXT,
        K.IMAGE_REFUSED: SendAction.RESEND_AS_TEXT,
        K.TRANSIENT: SendAction.RETRY,
        K.PERMANENT: SendAction.FAIL,
        K.PAID_REFUSED: SendAction.STOP_PAID,
    }


@pytest.mark.parametrize(
    ("messages", "rate", "stars", "normal", "paid"),
    [
        # 20,000 chats at 25/s: 800 s; at 1,000/s: 20 s, of which 30/s (600 messages) are free.
        (20_000, 25, 1940.0, 800.0, 20.0),
        (4, 25, 0.4, 0.16, 0.004),
        (0, 25, 0.0, 0.0, 0.0),
    ],
)
def test_paid_estimate_prices_messages_above_the_free_30_a_second(
    messages: int, rate: float, stars: float, normal: float, paid: float
) -> None:
    """0.1 Star per message above the free 30 a second, and the time each pace takes."""
    estimate = paid_estimate(messages, rate)
    assert (estimate.stars, estimate.normal_seconds, estimate.paid_seconds) == pytest.approx(
        (stars, normal, paid)
    )
    assert estimate.saved_seconds == pytest.approx(normal - paid)


@pytest.mark.parametrize(
    ("attempts", "jitter", "expected"),
    [
        (0, 0.0, 2.0),
        (1, 0.0, 2.0),
        (3, 0.0, 8.0),
        (3, 0.999, 8.0 * 1.4995),
        (30, 0.0, MAX_BACKOFF_SECONDS),
    ],
)
def test_retry_delay_doubles_and_is_capped(attempts: int, jitter: float, expected: float) -> None:
    """Backoff is 2, 4, 8 … seconds, capped, plus up to half again as jitter."""
    assert retry_delay(attempts, jitter) == pytest.approx(expected)
