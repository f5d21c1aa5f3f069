"""feeds.yaml files written for a test, and the one-line error loading one gives."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from watcher.config import load
from watcher.errors import ConfigError


def write_config(tmp_path: Path, text: str | bytes) -> Path:
    """``text`` as ``tmp_path``/feeds.yaml (bytes as given, for encodings the loader must refuse)."""
    path = tmp_path / "feeds.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def refused(tmp_path: Path, text: str | bytes, environ: Mapping[str, str] | None = None) -> str:
    """The ConfigError that loading ``text`` as a feeds.yaml (with ``environ``, by default none) raises, its
    file named "F"."""
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load(path, environ=environ or {})
    return str(err.value).replace(str(path), "F")
