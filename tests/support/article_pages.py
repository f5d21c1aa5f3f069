"""Synthetic news pages for page-fetch tests and the full-text benchmark: an article, a paywall stub, a home page."""

from __future__ import annotations

import html

SENTENCES = (
    "Officials said the new production lines would reach full capacity by the end of next year.",
    "The ministry declined to give precise figures, citing security concerns.",
    "Analysts cautioned that output numbers are hard to verify independently.",
    "Several allies have signed long-term contracts with domestic manufacturers.",
    "The announcement came after months of pressure from frontline commanders.",
    "Critics argue that the estimates rely on optimistic assumptions about supply chains.",
    "A spokesperson for the alliance welcomed the progress but urged further investment.",
    "Independent researchers have published a detailed breakdown of the available data.",
)

_CHROME = """
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/politics">Politics</a>
<a href="/business">Business</a> <a href="/subscribe">Subscribe</a></nav></header>
"""
_FOOTER = """
<aside class="related"><h3>Most read</h3><ul><li><a href="/a">Celebrity news of the day</a></li>
<li><a href="/b">Ten recipes for the weekend</a></li><li><a href="/c">Sports results</a></li></ul></aside>
<footer><p>© 2025 Example News. All rights reserved.</p><a href="/privacy">Privacy</a>
<a href="/cookies">Cookie settings</a></footer>
<script>window.dataLayer = window.dataLayer || []; dataLayer.push({"event": "pageview"});</script>
"""


def article_page(
    title: str,
    lead: str,
    *,
    paragraphs: int = 8,
    published: str = "2025-11-05T09:30:00+00:00",
    author: str = "Jane Reporter",
    lang: str = "en",
    seed: int = 0,
) -> bytes:
    """A news article page with navigation, related links and a footer around the main text."""
    body = [f"<p>{html.escape(lead)}</p>"]
    for n in range(paragraphs):
        sentences = [SENTENCES[(seed + n + k) % len(SENTENCES)] for k in range(3)]
        body.append(f"<p>{html.escape(' '.join(sentences))}</p>")
    page = f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(title)} | Example News</title>
<meta property="og:title" content="{html.escape(title)}">
<meta name="author" content="{html.escape(author)}">
<meta property="article:published_time" content="{published}">
<link rel="alternate" type="application/rss+xml" href="/rss.xml"></head>
<body>{_CHROME}<main><article><h1>{html.escape(title)}</h1>
<p class="byline">By {html.escape(author)}</p>
{"".join(body)}
</article></main>{_FOOTER}</body></html>"""
    return page.encode("utf-8")


def paywall_page(title: str, lead: str) -> bytes:
    """A paywalled article: the title, one teaser line and a subscription prompt."""
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>
<body>{_CHROME}<main><article><h1>{html.escape(title)}</h1><p>{html.escape(lead)}</p>
<div class="paywall"><p>Subscribe to read the full story.</p><a href="/subscribe">Subscribe</a></div>
</article></main>{_FOOTER}</body></html>"""
    return page.encode("utf-8")


def home_page(links: str) -> bytes:
    """A site's home page whose head carries ``links`` (``<link>`` elements)."""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Example News</title>
{links}</head><body>{_CHROME}<main><h2><a href="/2025/11/story">A story</a></h2></main>{_FOOTER}</body></html>""".encode()
