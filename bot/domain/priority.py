"""Delivery priorities: which waiting messages the engine sends first. Pure constants.

The outbox is drained highest priority first, then oldest first (`DeliveryRepo.claim_due`),
so a broadcast queued behind a backlog of thousands of ordinary post notifications still
goes out next. Replies to people never wait in the outbox at all: they are sent through the
Application's own bot, so they have no priority here.

The values leave room between levels, so a new level slots in without renumbering rows
already queued (the column is a SMALLINT; keep values within 0..1000).
"""

from __future__ import annotations

import enum


class DeliveryPriority(enum.IntEnum):
    """The `deliveries.priority` of each kind of message; higher goes first."""

    POST = 0  # an ordinary post notification
    BROADCAST = 10  # an organiser's call to action, or a notice from the bot to followers
    URGENT = 20  # reserved for posts of a topic marked urgent (not built yet)
