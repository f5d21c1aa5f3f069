"""The admin CLI (``watcher``): a thin layer over the store and the pipeline; DESIGN.md is its contract."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from watcher import __version__
from watcher.cli.common import (
    Context,
    check_text_params,
    json_option,
    pass_ctx,
    run_async,
    with_pipeline,
    with_store,
)
from watcher.cli.render import cycle_line, emit_json
from watcher.errors import ConfigError, NotFoundError, WatcherError

if TYPE_CHECKING:
    from storage.base import Store, SyncReport
    from watcher.pipeline import CycleReport, Pipeline


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="watcher")
@click.option(
    "--config",
    envvar="WATCHER_CONFIG",
    type=click.Path(dir_okay=False),
    help="feeds.yaml to use [env WATCHER_CONFIG; default ./feeds.yaml].",
)
@click.option("--database", envvar="WATCHER_DATABASE_URL", help="Database URL [env WATCHER_DATABASE_URL].")
@click.option("-v", "--verbose", count=True, help="More logging (-v debug, -vv also libraries).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    envvar="WATCHER_LOG_FORMAT",
    show_default=True,
    help="Log line format [env WATCHER_LOG_FORMAT].",
)
@click.pass_context
def cli(ctx: click.Context, config: str | None, database: str | None, verbose: int, log_format: str) -> None:
    """watcher: know within minutes when the press picks up a claim, and when its framing shifts."""
    from watcher import logs

    logs.setup(verbose, log_format)
    ctx.obj = Context(config, database, verbose, log_format)


def main() -> None:
    cli(prog_name="watcher")


# --- daemon and health ---------------------------------------------------------------------------------------


@cli.command()
@pass_ctx
@run_async
async def run(ctx: Context) -> None:
    """Run the daemon: poll feeds, match claims, detect shifts and send alerts until stopped.

    Stops cleanly on SIGTERM, SIGINT or SIGHUP. Serves /healthz, /metrics and reports (daemon.server in feeds.yaml).

    Example: watcher --config feeds.yaml run
    """
    from watcher.daemon import Daemon

    async def go(pipeline: Pipeline) -> None:
        await pipeline.sync_config()
        await Daemon(ctx.settings, pipeline.store, pipeline).run()

    await with_pipeline(ctx, go, create=True)


@cli.command("poll-once")
@click.option("--all", "all_feeds", is_flag=True, help="Poll every enabled feed, not only those due.")
@json_option
@pass_ctx
@run_async
async def poll_once(ctx: Context, all_feeds: bool, as_json: bool) -> None:
    """Run one full cycle (poll, match, detect, deliver) and exit: for cron, tests and debugging.

    Example: watcher poll-once --all
    """

    async def go(pipeline: Pipeline) -> CycleReport:
        await pipeline.sync_config()
        # As `run` does at its start: a model that cannot be loaded is this command's failure (exit 1), not a
        # cycle that matched nothing and exits 0.
        await pipeline.load_model()
        return await pipeline.cycle(all=all_feeds)

    report = await with_pipeline(ctx, go, create=True)
    if as_json:
        emit_json(report.as_dict())
    else:
        click.echo(cycle_line(report))
    if report.feeds_polled and report.feeds_failed == report.feeds_polled:
        # Feeds were due and not one could be polled: cron and scripts must see that.
        click.echo(f"error: none of the {report.feeds_polled} feeds polled could be read", err=True)
        raise click.exceptions.Exit(1)
    if report.rounds_failed:
        # The last round succeeded, but the articles an earlier one had leased wait for their lease to end.
        rounds = "1 round" if report.rounds_failed == 1 else f"{report.rounds_failed} rounds"
        click.echo(
            f"error: matching new articles failed in {rounds} of this cycle (see the log); "
            "the articles it held are matched again when their lease ends (daemon.lease)",
            err=True,
        )
        raise click.exceptions.Exit(1)


@cli.command()
@json_option
@pass_ctx
@run_async
async def sync(ctx: Context, as_json: bool) -> None:
    """Write the feeds, claims and destinations of feeds.yaml into the database now, and say what changed.

    `run` and `poll-once` do this too; other commands read the database as it is.

    Example: watcher sync
    """

    async def go(pipeline: Pipeline) -> tuple[SyncReport, SyncReport]:
        return await pipeline.sync_config()

    feeds, claims = await with_pipeline(ctx, go, create=True)
    if as_json:
        emit_json(
            {
                "feeds": {"added": feeds.added, "updated": feeds.updated, "disabled": feeds.disabled},
                "claims": {"added": claims.added, "updated": claims.updated},
            }
        )
    else:
        click.echo(
            f"feeds: {feeds.added} added, {feeds.updated} updated, {feeds.disabled} disabled; "
            f"claims: {claims.added} added, {claims.updated} updated"
        )


@cli.command()
@click.option("--url", default=None, help="Health endpoint [default: the daemon's, from feeds.yaml].")
@click.option("--db-only", is_flag=True, help="Only check that the database answers.")
@pass_ctx
@run_async
async def check(ctx: Context, url: str | None, db_only: bool) -> None:
    """Exit 0 if the daemon is healthy, 1 if not: for container healthchecks.

    Example: watcher check
    """
    try:
        await _check(ctx, url, db_only)
    except (ConfigError, NotFoundError) as exc:
        # Docker reserves a healthcheck's exit status 2: a bad config or a missing database is unhealthy, 1.
        raise WatcherError(str(exc)) from None


async def _check(ctx: Context, url: str | None, db_only: bool) -> None:
    import aiohttp

    from watcher.cli.render import plain
    from watcher.ingest.urls import display_url

    if db_only:
        await with_store(ctx, lambda s: s.ping())
        click.echo("ok: database reachable")
        return
    d = ctx.settings.daemon
    if url is None and not d.server_enabled:
        raise WatcherError(
            "the daemon serves no /healthz (daemon.server.enabled is false): enable it, or check the database "
            "alone with --db-only"
        )
    host = "127.0.0.1" if d.server_host in ("0.0.0.0", "::") else d.server_host
    target = url or f"http://{host}:{d.server_port}/healthz"
    shown = display_url(target)  # healthcheck logs get no userinfo or token
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            async with session.get(target) as resp:
                body = await resp.text()
    except aiohttp.ClientConnectorError:
        raise WatcherError(f"no daemon answering at {shown} (is `watcher run` running?)") from None
    except TimeoutError:
        raise WatcherError(f"no answer from {shown} within 5 s") from None
    except aiohttp.ClientError as exc:
        raise WatcherError(f"health endpoint {shown} unreachable: {type(exc).__name__}") from None
    if resp.status != 200:
        raise WatcherError(f"unhealthy: {plain(body)}")
    click.echo(f"ok: {plain(body)}")


# --- db ---------------------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_ctx
@run_async
async def db_upgrade(ctx: Context) -> None:
    """Create or migrate the schema to the latest version (run and poll-once also do this).

    Example: watcher db upgrade
    """

    async def go(store: Store) -> str | None:
        return await store.schema_revision()

    rev = await with_store(ctx, go, create=True)
    click.echo(f"database at revision {rev}")


def _register() -> None:
    from watcher.cli import claims, feeds, records

    cli.add_command(claims.claims)
    cli.add_command(feeds.feeds)
    for command in (records.matches, records.events, records.alerts, records.report):
        cli.add_command(command)
    check_text_params(cli)


_register()
