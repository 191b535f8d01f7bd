"""Repositories: one per aggregate, constructed with a session; they never commit.

The use-case in `bot.services` owns the transaction. Statements are
dialect-neutral, except for `ON CONFLICT DO NOTHING`, which both SQLite and PostgreSQL
speak through their own `insert()` constructs (see `_sql._insert`).

One module per aggregate: `feeds`, `posts`, `topics` (with their rules), `chats` (chats and
subscriptions; users and roles), `deliveries` (the outbox, the fan-out and its audience),
`broadcasts`, `channels` (chats linked with /channel), `audit`, `state`, `totals` (per-message
counters and topic growth, never per
chat), `privacy` (retention, forgetting, what /mydata counts), `reports` (figures that only
read) and `results` (each message's figures, per topic). Import the classes from here:
`from bot.db.repos import DeliveryRepo`.

Maintenance rule: every new public method gets a test in tests/db/, run on both databases.
"""

from bot.db.repos.audit import AuditRepo
from bot.db.repos.broadcasts import BroadcastRepo
from bot.db.repos.channels import ChannelRepo
from bot.db.repos.chats import ChatRepo, UserRepo
from bot.db.repos.deliveries import DeliveryRepo
from bot.db.repos.feeds import FeedRepo
from bot.db.repos.fleet import FleetRepo
from bot.db.repos.posts import PostRepo
from bot.db.repos.privacy import PrivacyRepo
from bot.db.repos.reports import ReportRepo
from bot.db.repos.results import ResultsRepo
from bot.db.repos.state import StateRepo
from bot.db.repos.topics import TopicRepo
from bot.db.repos.totals import TotalsRepo

__all__ = [
    "AuditRepo",
    "BroadcastRepo",
    "ChannelRepo",
    "ChatRepo",
    "DeliveryRepo",
    "FeedRepo",
    "FleetRepo",
    "PostRepo",
    "PrivacyRepo",
    "ReportRepo",
    "ResultsRepo",
    "StateRepo",
    "TopicRepo",
    "TotalsRepo",
    "UserRepo",
]
