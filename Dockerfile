# syntax=docker/dockerfile:1
# watcher: the daemon and its admin CLI, run as a non-root user.
#
#   docker build -t watcher .                                  # lexical matching only (small image)
#   docker build --build-arg EXTRAS=semantic -t watcher .      # + sentence-transformers (large: pulls PyTorch)
#
# The same image runs every role; docker-compose.yml picks the command (`watcher db upgrade`, `watcher run`).

# The Debian release is pinned too: the bare -slim tag moves to each new one (bookworm, then trixie), and
# with it the C libraries the wheels were built against.
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
# Comma-separated optional extras from pyproject.toml, e.g. "semantic"; empty installs none.
ARG EXTRAS=""
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY watcher ./watcher
COPY storage ./storage
RUN pip install "/src${EXTRAS:+[$EXTRAS]}" && watcher --version

FROM python:${PYTHON_VERSION}-slim-bookworm
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/watcher watcher \
    && mkdir -p /app /data /home/watcher/.cache \
    && chown watcher:watcher /data /home/watcher/.cache
COPY --from=build /opt/venv /opt/venv
# The example configuration, so that a bare `docker run` works; compose mounts the real one over it.
COPY feeds.yaml /app/feeds.yaml
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WATCHER_CONFIG=/app/feeds.yaml \
    WATCHER_DATABASE_URL=sqlite+aiosqlite:////data/watcher.db \
    WATCHER_SERVER_HOST=0.0.0.0
WORKDIR /app
USER watcher
# /home/watcher/.cache: the semantic extra's model (Hugging Face's cache) and its ONNX export; compose keeps it
# in a volume, so that a new container neither downloads nor exports the model again.
VOLUME ["/data"]
EXPOSE 8080
# `watcher check` asks the daemon's own /healthz: database reachable, scheduler ticking, last cycle recent.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["watcher", "check"]
STOPSIGNAL SIGTERM
CMD ["watcher", "run"]
