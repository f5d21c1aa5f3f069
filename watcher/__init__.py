"""watcher: track claims across news feeds and alert on coverage and framing shifts."""

from __future__ import annotations

__version__ = "0.1.0"
