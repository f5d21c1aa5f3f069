"""The exact commands the containers run, run here: migrate, health checks, and the daemon's start and stop.

docker-compose.yml and the Dockerfile are parsed, so these tests break when a container's command changes
without the command being tested. Every flow runs on SQLite in tmp_path and, when WATCHER_TEST_POSTGRES_URL
is set, on a fresh PostgreSQL database created and dropped here.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.database import fresh_postgres_database
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")

MIGRATE: list[str] = SERVICES["migrate"]["command"]
RUN: list[str] = SERVICES["watcher"]["command"]
# What an operator runs to see whether the containers reach the database (README, Operations).
DB_CHECK = ["watcher", "check", "--db-only"]
POSTGRES_ENV = "WATCHER_TEST_POSTGRES_URL"
STOP_WITHIN_S = 10.0

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Local Wire</title><link>http://127.0.0.1/</link><description>wire</description>
<item><title>NATO has surpassed Russia in ammunition production, alliance says</title>
<link>http://127.0.0.1/news/1</link><guid>wire-1</guid><pubDate>Thu, 06 Nov 2025 09:00:00 GMT</pubDate>
<description>NATO has surpassed Russia in ammunition production, the alliance said.</description></item>
</channel></rss>
"""

SERVER_TOKEN = "container-test-token-0123456789"


def _dockerfile_json(instruction: str) -> list[str]:
    """The exec-form argument list of a Dockerfile instruction (HEALTHCHECK ... CMD [...], or CMD [...])."""
    pattern = (
        r"^HEALTHCHECK\b.*?\bCMD\s+(\[.*\])\s*$"
        if instruction == "HEALTHCHECK"
        else rf"^{instruction}\s+(\[.*\])\s*$"
    )
    found = re.findall(pattern, DOCKERFILE, re.MULTILINE)
    assert len(found) == 1, f"expected one exec-form {instruction} in the Dockerfile"
    value: list[str] = json.loads(found[0])
    return value


HEALTH = _dockerfile_json("HEALTHCHECK")


# --- the files ---------------------------------------------------------------------------------------------


def test_compose_runs_the_tested_commands() -> None:
    assert set(SERVICES) == {"postgres", "migrate", "watcher"}
    assert MIGRATE == ["watcher", "db", "upgrade"]
    assert RUN == ["watcher", "run"] == _dockerfile_json("CMD")
    assert HEALTH == ["watcher", "check"]


def test_compose_orders_startup_and_shares_the_database() -> None:
    pg, migrate, watcher = SERVICES["postgres"], SERVICES["migrate"], SERVICES["watcher"]
    assert pg["image"] == "postgres:16"
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    assert any(v.startswith("pgdata:") for v in pg["volumes"]) and "pgdata" in COMPOSE["volumes"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert watcher["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert watcher["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for service in (migrate, watcher):
        env = service["environment"]
        assert env["WATCHER_DATABASE_URL"].startswith("postgresql+asyncpg://watcher:")
        assert "@postgres:5432/watcher" in env["WATCHER_DATABASE_URL"]
        assert env["WATCHER_SERVER_HOST"] == "0.0.0.0"
        assert service["env_file"] == ".env"
        assert f"./feeds.yaml:{env['WATCHER_CONFIG']}:ro" in service["volumes"]


def test_containers_serve_beyond_loopback() -> None:
    """/healthz, /metrics and reports must be reachable from outside the container (ports, Prometheus)."""
    from watcher.config import load

    environment = {k: str(v) for k, v in SERVICES["watcher"]["environment"].items()}
    environment["WATCHER_SERVER_TOKEN"] = SERVER_TOKEN  # compose requires it from .env
    settings = load(ROOT / "feeds.yaml", environ=environment)
    assert settings.daemon.server_host == "0.0.0.0" and settings.daemon.server_token == SERVER_TOKEN
    env_example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert re.search(r"^WATCHER_SERVER_TOKEN=\S{16,}$", env_example, re.MULTILINE)


def test_compose_scales_the_daemon() -> None:
    watcher = SERVICES["watcher"]
    assert "container_name" not in watcher
    # A fixed host port would let only one replica start: publish a range (or nothing).
    for port in watcher.get("ports", []):
        host = str(port).rsplit(":", 1)[0]
        assert "-" in host, f"{port}: use a host port range so that --scale works"
    assert watcher["init"] is True  # signals reach the daemon, zombies are reaped


def test_image_runs_as_a_user_and_keeps_extras_optional() -> None:
    assert re.search(r"^FROM python:\$\{PYTHON_VERSION\}-slim\b", DOCKERFILE, re.MULTILINE)
    assert re.search(r"^ARG PYTHON_VERSION=3\.11$", DOCKERFILE, re.MULTILINE)
    assert re.search(r'^ARG EXTRAS=""$', DOCKERFILE, re.MULTILINE)
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")


def test_env_example_defines_what_compose_requires() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    required = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):\?", text))
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    defined = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", example, re.MULTILINE))
    assert required and required <= defined


def test_compose_file_is_valid(tmp_path: Path) -> None:
    """`docker compose config` where a compose client is installed (it needs no engine)."""
    if shutil.which("docker") and _ok(["docker", "compose", "version"]):
        client = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        client = ["docker-compose"]
    else:
        pytest.skip("no docker compose client installed")
    for name in ("docker-compose.yml", "feeds.yaml", "Dockerfile"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    done = subprocess.run(
        [*client, "config", "--quiet"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def _ok(argv: list[str]) -> bool:
    return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0


# --- the commands, for real ---------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'watcher.db'}"
    else:
        # A database of its own: these commands must create the schema from nothing.
        yield from fresh_postgres_database("watcher_ct")


@pytest.fixture
def feed_url() -> Iterator[str]:
    """A real local feed for the daemon to poll."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = RSS.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/rss.xml"
    finally:
        server.shutdown()
        server.server_close()


def _write_config(tmp_path: Path, feed_url: str, port: int) -> Path:
    config = {
        "database": "sqlite+aiosqlite:///unused.db",  # WATCHER_DATABASE_URL wins, as in the containers
        "feeds": [
            {
                "url": feed_url,
                "outlet": "Local Wire",
                "country": "GB",
                "language": "en",
                "leaning": "center",
                "ownership": "private",
                "interval": "1m",
            },
        ],
        "claims": [
            {
                "name": "nato-ammo",
                "text": "NATO has surpassed Russia in ammunition production",
                "keywords": ["NATO", "ammunition"],
            }
        ],
        "http": {"allow_private": True},  # the feed is on 127.0.0.1
        "matching": {"model": None},
        # 0.0.0.0 as in a container, where `watcher check` must still find the server on loopback.
        "daemon": {"tick": "1s", "shutdown_timeout": "5s", "server": {"host": "0.0.0.0", "port": port}},
    }
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _container_env(service: str, config: Path, database_url: str) -> dict[str, str]:
    """The service's environment from docker-compose.yml, pointed at this test's config and database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    env.update({k: str(v) for k, v in SERVICES[service]["environment"].items()})
    env.update(WATCHER_CONFIG=str(config), WATCHER_DATABASE_URL=database_url, WATCHER_LOG_FORMAT="text")
    assert SERVICES[service]["environment"]["WATCHER_SERVER_TOKEN"].startswith("${WATCHER_SERVER_TOKEN:?")
    env["WATCHER_SERVER_TOKEN"] = SERVER_TOKEN  # what .env provides
    # The commands are bare `watcher ...`, as in the image: find the one installed next to this Python.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("HF_HUB_OFFLINE", "1")
    return env


def _run(
    argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_container_commands(tmp_path: Path, database_url: str, feed_url: str) -> None:
    port = free_port()
    config = _write_config(tmp_path, feed_url, port)

    # migrate: `watcher db upgrade`, twice, as every `docker compose up` does.
    env = _container_env("migrate", config, database_url)
    for _ in range(2):
        done = _run(MIGRATE, env, tmp_path)
        assert done.returncode == 0, done.stderr
        assert "database at revision" in done.stdout
    done = _run(DB_CHECK, env, tmp_path)
    assert done.returncode == 0, done.stderr

    # watcher: `watcher run` until healthy, then SIGTERM.
    env = _container_env("watcher", config, database_url)
    log = (tmp_path / "watcher.log").open("w")
    daemon = subprocess.Popen(
        RUN, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        _wait_healthy(daemon, env, tmp_path)
        assert _run(HEALTH, env, tmp_path).returncode == 0
        _assert_serves(port)
        _wait_processed(database_url, tmp_path / "watcher.log")
        daemon.send_signal(signal.SIGTERM)
        started = time.monotonic()
        rc = daemon.wait(timeout=STOP_WITHIN_S + 5)
        took = time.monotonic() - started
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        log.close()
    output = (tmp_path / "watcher.log").read_text()
    assert rc == 0, output
    assert took <= STOP_WITHIN_S, f"stopped after {took:.1f}s\n{output}"
    assert "Traceback" not in output, output

    # Once stopped, the container healthcheck reports it.
    assert _run(HEALTH, env, tmp_path).returncode == 1


def _wait_healthy(
    daemon: subprocess.Popen[Any], env: dict[str, str], cwd: Path, within_s: float = 60
) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            pytest.fail(
                f"`{' '.join(RUN)}` exited with {daemon.returncode}:\n{(cwd / 'watcher.log').read_text()}"
            )
        if _run(HEALTH, env, cwd, timeout=30).returncode == 0:
            return
        time.sleep(0.5)
    pytest.fail(f"not healthy within {within_s:.0f}s:\n{(cwd / 'watcher.log').read_text()}")


def _assert_serves(port: int) -> None:
    """/healthz is open; metrics and reports need the bearer token, since the server binds 0.0.0.0."""
    base = f"http://127.0.0.1:{port}"
    bearer = {"Authorization": f"Bearer {SERVER_TOKEN}"}
    with urllib.request.urlopen(f"{base}/healthz", timeout=10) as resp:
        assert resp.status == 200 and json.loads(resp.read())["status"] == "ok"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{base}/claims/nato-ammo/report", timeout=10)
    with refused.value:  # the error holds the response: close its socket
        assert refused.value.code == 401
    with urllib.request.urlopen(
        urllib.request.Request(f"{base}/metrics", headers=bearer), timeout=10
    ) as resp:
        assert resp.status == 200 and b"# TYPE" in resp.read()
    report = urllib.request.Request(f"{base}/claims/nato-ammo/report", headers=bearer)
    with urllib.request.urlopen(report, timeout=10) as resp:
        assert resp.status == 200 and resp.headers.get_content_type() == "text/html"
        assert "nato-ammo" in resp.read().decode()


def _wait_processed(database_url: str, log: Path, within_s: float = 30) -> None:
    """The daemon did a full cycle of real work: polled the local feed, stored its article, matched it."""
    from storage.sql import open_store

    async def processed() -> bool:
        store = await open_store(database_url)
        try:
            feeds = await store.list_feeds()
            counts = await store.counts()
        finally:
            await store.close()
        polled = bool(feeds) and feeds[0].last_status == 200
        return polled and counts["articles"] >= 1 and counts["articles_pending"] == 0

    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if asyncio.run(processed()):
            return
        time.sleep(0.5)
    pytest.fail(f"the daemon did not poll and match the feed within {within_s:.0f}s:\n{log.read_text()}")


def test_the_model_cache_outlives_a_container() -> None:
    """The semantic extra's model and ONNX export live under the user's ~/.cache: a named volume in every
    watcher container, owned by the user in the image (a new named volume takes the image folder's owner)."""
    for name in ("migrate", "watcher"):
        mounts = COMPOSE["services"][name]["volumes"]
        assert "cache:/home/watcher/.cache" in mounts
    assert "cache" in COMPOSE["volumes"]
    assert re.search(r"mkdir -p [^\n]*/home/watcher/\.cache", DOCKERFILE)
    assert re.search(r"chown watcher:watcher [^\n]*/home/watcher/\.cache", DOCKERFILE)
