# Campaign Action Bot: slim image, non-root, database in a volume, migrations at start.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY bot ./bot
COPY migrations ./migrations
RUN uv sync --frozen --no-dev --no-editable

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 campaignbot && mkdir -p /data && chown campaignbot /data
COPY --from=build --chown=campaignbot /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////data/campaignbot.sqlite3
USER campaignbot
WORKDIR /data
VOLUME ["/data"]
# `run` applies the migrations before it starts the bot, the poller and the sender.
CMD ["campaignbot", "run"]
