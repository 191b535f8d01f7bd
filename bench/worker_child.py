"""One sending process of the fleet row: `campaignbot worker`'s runtime with a bench rate.

`python -m bench.worker_child DATABASE_URL API_URL TOKEN RATE`: builds the runtime as `work()`
does (no updates, no polling, no jobs, lead=False) but gives the engine RATE directly (above
Settings' limit of 1000: the row measures the fleet's ceiling, not its pacing). Prints "ready"
once its engine runs, and on SIGTERM one JSON line: what it sent.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from bot.config import Settings
from bot.domain.types import OutcomeKind
from bot.runtime import DeliveryWiring, build_runtime


async def _main(url: str, api_url: str, token: str, rate: float) -> dict[str, float]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        telegram_bot_token=token,
        telegram_api_url=api_url,
        database_url=url,
        poll_interval_seconds=3600,
        log_level="ERROR",
    )
    sent = 0

    def on_outcome(kind: OutcomeKind, seconds: float) -> None:
        nonlocal sent
        if kind is OutcomeKind.SENT:
            sent += 1

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    wiring = DeliveryWiring(on_outcome=on_outcome, options={"rate": rate}, lead=False)
    runtime = await build_runtime(settings, wiring=wiring)
    try:
        runtime.start_delivery()
        print("ready", flush=True)
        await stop.wait()
        await runtime.stop_delivery()
    finally:
        await runtime.aclose()
    return {"sent": sent}


def main() -> None:
    """Run until SIGTERM, then print the JSON line."""
    url, api_url, token, rate = sys.argv[1:5]
    result = asyncio.run(_main(url, api_url, token, float(rate)))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
