"""The old home of /healthz and /metrics, kept as an import path: they are served by `bot.web`.

`HealthServer` is the bot's one web server (`bot.web.WebServer`: /healthz, /metrics and tracked
links), `Metrics` its Prometheus metrics. New code imports from `bot.web`.
"""

from bot.web.health import DB_TIMEOUT_SECONDS, ENGINE_STALL_SECONDS, HealthReport, Metrics
from bot.web.server import WebServer as HealthServer

__all__ = ["DB_TIMEOUT_SECONDS", "ENGINE_STALL_SECONDS", "HealthReport", "HealthServer", "Metrics"]
