"""The body each destination kind receives (Block Kit for Slack, the event JSON for webhooks); pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yarl

from watcher.domain import Claim, Destination, Event, Match
from watcher.errors import NotifyError
from watcher.notify import webhook
from watcher.notify.payload import MAX_EVENT_ARTICLES, EventBundle, render_digest, render_event, report_url
from watcher.notify.slack import render_slack, render_slack_digest

SLACK = "slack"
WEBHOOK = "webhook"
KINDS = (SLACK, WEBHOOK)


def render_for(
    destination: Destination,
    event: Event,
    claim: Claim,
    matches: Sequence[Match],
    *,
    public_url: str | None = None,
) -> dict[str, Any]:
    """The body ``destination`` receives for one event: Block Kit for Slack, the event JSON otherwise.

    With the daemon's ``public_url`` both link to the claim's report page. Both show the most relevant
    articles (``payload.top_matches``): a webhook at most MAX_EVENT_ARTICLES, and ``articles_total`` if cut.
    """
    report = report_url(public_url, claim)
    if destination.kind == SLACK:
        return render_slack(event, claim, matches, report=report)
    return render_event(event, claim, matches, report=report, max_articles=MAX_EVENT_ARTICLES)


def render_digest_for(
    destination: Destination, bundles: Sequence[EventBundle], *, public_url: str | None = None
) -> dict[str, Any]:
    """The body of a digest of ``bundles`` for ``destination``; stable for the same events.

    With the daemon's ``public_url`` each event in a digest links to its claim's report (``report_url`` in a
    webhook's, the claim's name in Slack's).
    """
    # The newest event's time, not the clock, so that a retried digest has the same body.
    created_at = max(b.event.created_at for b in bundles)
    if destination.kind == SLACK:
        return render_slack_digest(bundles, created_at=created_at, public_url=public_url)
    return render_digest(bundles, created_at=created_at, public_url=public_url)


def validate_destination(destination: Destination) -> None:
    """Raise NotifyError if ``destination`` can never be delivered to; the message names it, not its URL."""
    if destination.kind not in KINDS:
        raise NotifyError(f"destination {destination.name}: kind must be one of {', '.join(KINDS)}")
    try:
        check_url(yarl.URL(destination.url))
        if destination.secret:
            webhook.decode_secret(destination.secret)
    except (NotifyError, ValueError) as exc:
        raise NotifyError(f"destination {destination.name}: {url_error(exc)}") from None


def check_url(url: yarl.URL) -> None:
    """Raise NotifyError unless ``url`` is http(s) with a host."""
    if url.scheme not in ("http", "https"):
        raise NotifyError("URL must be http or https")
    if not url.host:
        raise NotifyError("URL has no host")


def url_error(exc: Exception) -> str:
    """A message for a URL or secret that failed to check, without the URL itself."""
    return str(exc) if isinstance(exc, NotifyError) else "invalid URL"
