"""Health and metrics: what `/healthz` and `/metrics` of the web server (bot/web/server.py) say.

Metrics live in a registry of their own per process (never the global one), fed by two hooks
that the composition root passes to the delivery engine (each send's outcome and latency) and
the poller (each feed poll). Queue depth is counted (through `StatusService`) when /metrics is
scraped.

/healthz is healthy when the database answers `SELECT 1` within 2 s, the last poll cycle
finished within 3 × max(poll tick, POLL_INTERVAL_SECONDS) (counted from start-up until the first
cycle), and the delivery engine task is alive and its loop turned within `ENGINE_STALL_SECONDS`
(a deliberate wait, such as a 429's retry_after of several minutes, counts as turning until it
should end: `DeliveryEngine.stalled_for`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.domain.schedule import poll_tick_seconds
from bot.domain.types import OutcomeKind, PollOutcome
from bot.runtime import Runtime

log = logging.getLogger(__name__)

DB_TIMEOUT_SECONDS = 2.0
ENGINE_STALL_SECONDS = 120.0


class Metrics:
    """The bot's Prometheus metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.deliveries = Counter(
            "campaignbot_deliveries",
            "Send attempts by outcome (sent, retry_after, transient, unreachable, ...).",
            ["outcome"],
            registry=self.registry,
        )
        self.send_seconds = Histogram(
            "campaignbot_send_seconds",
            "Latency of one bulk send to the Bot API.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.too_many_requests = Counter(
            "campaignbot_telegram_429",
            "429 Too Many Requests answers received by the delivery engine.",
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "campaignbot_delivery_queue_depth",
            "Pending deliveries (counted when scraped).",
            registry=self.registry,
        )
        self.feed_polls = Counter(
            "campaignbot_feed_polls",
            "Feed polls by outcome (new, not_modified, error).",
            ["outcome"],
            registry=self.registry,
        )

        self.webhook_requests = Counter(
            "campaignbot_webhook_requests",
            "Webhook requests by outcome (accepted, forbidden, bad_update, closing).",
            ["outcome"],
            registry=self.registry,
        )

    def record_webhook(self, outcome: str) -> None:
        """Count one webhook request."""
        self.webhook_requests.labels(outcome).inc()

    def record_delivery(self, kind: OutcomeKind, seconds: float) -> None:
        """Count one send's outcome and its latency."""
        self.deliveries.labels(kind.value).inc()
        self.send_seconds.observe(seconds)
        if kind is OutcomeKind.RETRY_AFTER:
            self.too_many_requests.inc()

    def record_poll(self, outcome: PollOutcome) -> None:
        """Count one feed poll."""
        self.feed_polls.labels(outcome.status).inc()


@dataclass
class HealthReport:
    """What /healthz answers."""

    healthy: bool
    checks: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)


class HealthChecks:
    """The checks behind /healthz and the text of /metrics, for one runtime."""

    def __init__(self, runtime: Runtime, metrics: Metrics) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.started_at = time.monotonic()

    async def check(self) -> HealthReport:
        """Run every check; healthy only if all pass."""
        report = HealthReport(healthy=True)
        try:
            async with asyncio.timeout(DB_TIMEOUT_SECONDS):
                await self.runtime.status.ping_database()
            report.checks["database"] = "ok"
        except Exception as error:  # any failure means "not healthy", with the reason
            report.checks["database"] = "error"
            report.reasons.append(f"database: {type(error).__name__}")

        interval = float(self.runtime.settings.poll_interval_seconds)
        bound = 3 * max(poll_tick_seconds(interval), interval)
        last = self.runtime.ingest.last_cycle_at
        # Only the leader polls (several instances on PostgreSQL): a follower is not late,
        # and a new leader is counted from when it took over.
        since = max(self.started_at, self.runtime.fleet.leading_since or 0.0)
        age = time.monotonic() - (last if last is not None and last > since else since)
        report.checks["last_poll_seconds_ago"] = None if last is None else round(age, 1)
        report.checks["leader"] = self.runtime.leading
        if self.runtime.leading and age > bound:
            report.reasons.append(f"poll: no finished poll cycle for {age:.0f} s (> {bound:g} s)")

        engine = self.runtime.delivery
        if engine is None or not self.runtime.delivery_running:
            report.reasons.append("delivery: the delivery engine is not running")
            report.checks["delivery"] = "stopped"
        else:
            stalled = engine.stalled_for()
            report.checks["delivery_loop_seconds_ago"] = round(stalled, 1)
            paused = engine.pacer.paused_for()
            if paused > 0:  # a flood wait being sat out: alive, and says for how long
                report.checks["delivery_paused_seconds"] = round(paused, 1)
            if stalled > ENGINE_STALL_SECONDS:
                report.reasons.append(f"delivery: the engine loop is stuck for {stalled:.0f} s")
        report.healthy = not report.reasons
        return report

    async def render_metrics(self) -> bytes:
        """Prometheus text; the queue depth is counted now (left as is if the database fails)."""
        try:
            async with asyncio.timeout(DB_TIMEOUT_SECONDS):
                depth = await self.runtime.status.pending_deliveries()
            self.metrics.queue_depth.set(depth)
        except Exception:
            log.warning("metrics: could not count pending deliveries")
        return generate_latest(self.metrics.registry)
