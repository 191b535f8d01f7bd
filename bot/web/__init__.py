"""The bot's one web server: health, metrics and tracked links (an adapter, like the handlers).

`WebServer` (server.py) serves the routes; `Metrics` and the health checks are in health.py.
"""

from bot.web.health import HealthChecks, HealthReport, Metrics
from bot.web.server import WebServer

__all__ = ["HealthChecks", "HealthReport", "Metrics", "WebServer"]
