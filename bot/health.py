"""Health and metrics over HTTP: `/healthz` (JSON, 200 or 503) and `/metrics` (Prometheus text).

Served when HEALTH_PORT is set, by a minimal HTTP/1.1 responder on `asyncio.start_server` (one
request per connection, GET/HEAD only), so the bot needs no web framework at run time. Metrics
live in a registry of their own per process (never the global one), fed by two hooks that the
composition root passes to the delivery engine (each send's outcome and latency) and the poller
(each feed poll). Queue depth is counted (through `StatusService`) when /metrics is scraped.

/healthz is healthy when the database answers `SELECT 1` within 2 s, the last poll cycle
finished within 3 × max(poll tick, POLL_INTERVAL_SECONDS) (counted from start-up until the first
cycle), and the delivery engine task is alive and its loop turned within `ENGINE_STALL_SECONDS`
(a deliberate wait, such as a 429's retry_after of several minutes, counts as turning until it
should end: `DeliveryEngine.stalled_for`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.domain.schedule import poll_tick_seconds
from bot.domain.types import OutcomeKind, PollOutcome
from bot.runtime import Runtime

log = logging.getLogger(__name__)

DB_TIMEOUT_SECONDS = 2.0
ENGINE_STALL_SECONDS = 120.0
READ_TIMEOUT_SECONDS = 5.0
MAX_HEADER_LINES = 100


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


class HealthServer:
    """Serves /healthz and /metrics for one runtime."""

    def __init__(self, runtime: Runtime, metrics: Metrics) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.started_at = time.monotonic()
        self._server: asyncio.Server | None = None
        self.port: int | None = None

    async def start(self, port: int, host: str = "0.0.0.0") -> None:  # noqa: S104 - probes come from outside the container
        """Listen on host:port (port 0 picks a free one; `self.port` tells which)."""
        self._server = await asyncio.start_server(self._handle, host, port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("health endpoint listening", extra={"port": self.port})

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    # -- checks ---------------------------------------------------------------------------------

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
        age = time.monotonic() - (last if last is not None else self.started_at)
        report.checks["last_poll_seconds_ago"] = None if last is None else round(age, 1)
        if age > bound:
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

    # -- HTTP -----------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                request_line = await reader.readline()
                for _ in range(MAX_HEADER_LINES):
                    line = await reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
            parts = request_line.decode("latin-1").split()
            method, target = (parts[0], parts[1]) if len(parts) >= 2 else ("", "")
            status, content_type, body = await self._route(method, target.split("?", 1)[0])
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeError):
            pass
        except Exception:
            log.exception("health endpoint failed")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _route(self, method: str, path: str) -> tuple[str, str, bytes]:
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", "text/plain; charset=utf-8", b"GET only\n"
        if path == "/healthz":
            report = await self.check()
            payload = {
                "status": "ok" if report.healthy else "unhealthy",
                "checks": report.checks,
                "reasons": report.reasons,
            }
            status = "200 OK" if report.healthy else "503 Service Unavailable"
            return status, "application/json", json.dumps(payload).encode() + b"\n"
        if path == "/metrics":
            return "200 OK", CONTENT_TYPE_LATEST, await self.render_metrics()
        return "404 Not Found", "text/plain; charset=utf-8", b"try /healthz or /metrics\n"
