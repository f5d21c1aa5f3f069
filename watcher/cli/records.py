"""``watcher matches|events|alerts|report``: what the pipeline found and sent."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from watcher.cli.common import ID, LIMIT, Context, json_option, pass_ctx, run_async, with_store
from watcher.cli.render import delivery_json, delivery_line, emit_json, emit_lines, event_line, match_line
from watcher.config import claim_name_problem
from watcher.domain import Claim, DeliveryStatus, utcnow
from watcher.errors import WatcherError

if TYPE_CHECKING:
    from storage.base import Store


@click.group()
def matches() -> None:
    """Matches of articles to claims, with evidence and framing."""


@matches.command("list")
@click.option("--claim", help="Only this claim (id or name).")
@click.option("--limit", type=LIMIT, default=100, show_default=True, help="Newest N matches.")
@json_option
@pass_ctx
@run_async
async def matches_list(ctx: Context, claim: str | None, limit: int, as_json: bool) -> None:
    """List matches, newest first.

    Example: watcher matches list --claim nato-ammo --json
    """
    from watcher.notify.payload import render_match

    async def go(store: Store) -> list[Any]:
        # An empty --claim (an unset shell variable) names no claim: an error, not every claim's list.
        claim_id = (await store.get_claim(claim)).id if claim is not None else None
        return list(await store.list_matches(claim_id=claim_id, limit=limit))

    found = await with_store(ctx, go)
    if as_json:
        emit_json([{"id": m.id, **render_match(m)} for m in found])
        return
    emit_lines([match_line(m) for m in found], empty="no matches")


@click.group()
def events() -> None:
    """Coverage and framing shift events."""


@events.command("list")
@click.option("--claim", help="Only this claim (id or name).")
@click.option("--limit", type=LIMIT, default=100, show_default=True, help="Newest N events.")
@json_option
@pass_ctx
@run_async
async def events_list(ctx: Context, claim: str | None, limit: int, as_json: bool) -> None:
    """List events, newest first (as JSON: the webhook body of each, ``report_url`` included when
    daemon.server.public_url is set).

    Example: watcher events list --claim nato-ammo --json
    """
    from watcher.notify.payload import render_event, report_url

    public_url = ctx.settings.daemon.public_url

    async def go(store: Store) -> list[dict[str, Any]]:
        # An empty --claim (an unset shell variable) names no claim: an error, not every claim's list.
        claim_id = (await store.get_claim(claim)).id if claim is not None else None
        out = []
        for e in await store.list_events(claim_id=claim_id, limit=limit):
            c = await store.get_claim(e.claim_id, include_deleted=True)
            matches = await store.matches_by_id(e.match_ids)
            out.append(render_event(e, c, matches, report=report_url(public_url, c)))
        return out

    found = await with_store(ctx, go)
    if as_json:
        emit_json(found)
        return
    emit_lines([event_line(e) for e in found], empty="no events")


@click.group()
def alerts() -> None:
    """The outbox: alert deliveries to Slack and webhooks."""


@alerts.command("list")
@click.option(
    "--status", type=click.Choice([s.value for s in DeliveryStatus]), help="Only deliveries in this state."
)
@click.option("--limit", type=LIMIT, default=100, show_default=True, help="Newest N deliveries.")
@json_option
@pass_ctx
@run_async
async def alerts_list(ctx: Context, status: str | None, limit: int, as_json: bool) -> None:
    """List deliveries with their state, attempts and last error.

    Example: watcher alerts list --status dead
    """
    found = await with_store(
        ctx, lambda s: s.list_deliveries(status=DeliveryStatus(status) if status else None, limit=limit)
    )
    if as_json:
        emit_json([delivery_json(d) for d in found])
        return
    emit_lines([delivery_line(d) for d in found], empty="no deliveries")


@alerts.command("retry")
@click.argument("delivery_id", type=ID)
@json_option
@pass_ctx
@run_async
async def alerts_retry(ctx: Context, delivery_id: int, as_json: bool) -> None:
    """Make a dead or cancelled delivery due again now (the daemon sends it on its next tick).

    Example: watcher alerts retry 42
    """
    from watcher.outbox import requeue

    d = await with_store(ctx, lambda store: requeue(store, delivery_id, utcnow()))
    if as_json:
        emit_json(delivery_json(d))
    elif d.status is DeliveryStatus.DELIVERED:
        # A delivered alert is never sent again: the receiver has it.
        click.echo(f"delivery {d.id} to {d.destination} was already delivered: nothing to send")
    else:
        click.echo(f"delivery {d.id} to {d.destination} is {d.status.value}, due now")


def write_replacing(target: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically: a temporary file in the same folder, then os.replace.

    A symlink at ``target`` is replaced, never followed, and an interrupted write leaves the old file whole. An
    existing regular file keeps its mode; a new one gets the umask's (as open() gives).
    """
    try:
        st = target.lstat()
        mode = stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else None
    except FileNotFoundError:
        mode = None
    tmp = target.parent / f".{target.name[:200] or 'report'}.{secrets.token_hex(8)}.tmp"
    # O_EXCL|O_NOFOLLOW: a name planted in the folder (a symlink) is refused, not written through.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    try:
        with open(fd, "w", encoding="utf-8") as f:
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@click.command()
@click.argument("claim")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the HTML here [default: CLAIM.html].",
)
@pass_ctx
@run_async
async def report(ctx: Context, claim: str, out: Path | None) -> None:
    """Write a self-contained HTML coverage report of a claim: timeline by stance and segment, events, matches.

    A removed claim is reported by its id. Without --out the page is CLAIM.html in the working directory.

    Example: watcher report nato-ammo --out nato-ammo.html
    """
    from watcher.report import build_report

    async def go(store: Store) -> tuple[Claim, str]:
        c = await store.get_claim(claim, include_deleted=claim.isdigit())
        return c, await build_report(store, c.id)

    c, html = await with_store(ctx, go)
    # A name is a file name only when it is a valid claim name (older databases may hold others).
    target = out or Path(f"claim-{c.id}.html" if claim_name_problem(c.name) else f"{c.name}.html")
    try:
        write_replacing(target, html)
    except OSError as exc:
        raise WatcherError(f"cannot write {target}: {exc.strerror or type(exc).__name__}") from None
    click.echo(f"wrote {target}")
