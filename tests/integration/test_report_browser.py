"""The report in headless Chromium: it renders, the chart draws, the view switch works, no console errors."""

from __future__ import annotations

import base64
import os
import re
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.report_samples import (
    NOW,
    long_string_matches,
    long_strings_page,
    sample_claim,
    sample_events,
    sample_matches,
)
from watcher.report import render_report

pytestmark = pytest.mark.browser

CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1000",
)
# Where people look at the latest rendering (CI keeps it as an artifact).
SCREENSHOT = Path(os.environ.get("WATCHER_REPORT_SCREENSHOT", "/tmp/watcher-report.png"))


def _binaries() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    reason = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
    # CI must run what the suite claims to test: there a missing browser is a failure, not a skip.
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = _binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    d.set_page_load_timeout(30)
    try:
        yield d
    finally:
        d.quit()


def _open(driver: Any, tmp_path: Path, page: str) -> None:
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    driver.get_log("browser")  # forget what earlier pages logged
    driver.get(path.as_uri())
    assert driver.execute_script("return document.readyState") == "complete"


def _severe(driver: Any) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


@pytest.fixture
def report_page() -> str:
    return render_report(sample_claim(), sample_matches(), sample_events(), now=NOW)


def test_report_renders_with_chart_table_and_no_errors(driver: Any, tmp_path: Path, report_page: str) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    _open(driver, tmp_path, report_page)
    assert driver.title == "nato-ammo — coverage report"
    chart = driver.find_element(By.ID, "chart-stance")
    assert chart.is_displayed()
    bars = chart.find_elements(By.CSS_SELECTOR, "rect.bar")
    assert len(bars) >= 10
    # Drawn means laid out with a real size, not merely present in the DOM.
    sizes = driver.execute_script(
        "return [...arguments[0]].map(b => b.getBoundingClientRect()).map(r => [r.width, r.height])",
        bars,
    )
    assert all(w > 2 and h > 2 for w, h in sizes)
    assert len(chart.find_elements(By.CSS_SELECTOR, "g.event")) == 4
    rows = driver.find_elements(By.CSS_SELECTOR, "table.matches tbody tr")
    assert len(rows) == 16 and all(r.is_displayed() for r in rows)
    # The hostile title shows as text and ran nothing.
    assert any("<script>" in r.text for r in rows)
    with pytest.raises(NoAlertPresentException):
        _ = driver.switch_to.alert.text
    assert _severe(driver) == []


def test_view_switch_shows_one_chart_at_a_time(driver: Any, tmp_path: Path, report_page: str) -> None:
    from selenium.webdriver.common.by import By

    _open(driver, tmp_path, report_page)

    def shown() -> list[str]:
        return [
            c.get_attribute("data-view")
            for c in driver.find_elements(By.CSS_SELECTOR, "figure.chart")
            if c.is_displayed()
        ]

    assert shown() == ["stance"]
    for view in ("country", "leaning", "ownership", "stance"):
        driver.find_element(By.CSS_SELECTOR, f"label[for=view-{view}]").click()
        assert shown() == [view]
        bars = driver.find_elements(By.CSS_SELECTOR, f"#chart-{view} rect.bar")
        assert bars and all(b.size["height"] > 0 for b in bars)
    assert _severe(driver) == []


def test_empty_report_renders(driver: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    _open(driver, tmp_path, render_report(sample_claim(), [], [], now=NOW))
    assert "No coverage yet" in driver.find_element(By.TAG_NAME, "main").text
    assert driver.find_elements(By.CSS_SELECTOR, "rect.bar") == []
    assert _severe(driver) == []


def test_long_strings_wrap_without_horizontal_overflow(driver: Any, tmp_path: Path) -> None:
    """A 500-character title, a 300-character outlet, long URLs and a long claim, all at 1280 px."""
    _open(driver, tmp_path, long_strings_page())
    # The versions of a revised article, unfolded, wrap too.
    opened = driver.execute_script(
        "const d = [...document.querySelectorAll('details.versions')]; d.forEach(e => e.open = true); return d.length"
    )
    assert opened == 1
    assert driver.execute_script("return innerWidth") <= 1280
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 1280
    # Nothing hides behind an inner scrollbar either: every table fits its card.
    wide = driver.execute_script(
        "return [...document.querySelectorAll('table')]"
        ".filter(t => t.getBoundingClientRect().right > t.closest('section').getBoundingClientRect().right + 1)"
        ".map(t => t.className)"
    )
    assert wide == []
    _shoot(driver, SCREENSHOT.with_name(SCREENSHOT.stem + "-long" + SCREENSHOT.suffix))
    assert _severe(driver) == []


def test_event_markers_are_distinct_and_dates_present(driver: Any, tmp_path: Path) -> None:
    """Ten events, six of them in one hour and two at the same minute: every numbered marker stays visible."""
    from selenium.webdriver.common.by import By

    _open(driver, tmp_path, long_strings_page())
    boxes = driver.execute_script(
        "return [...document.querySelectorAll('#chart-stance g.event circle')]"
        ".map(c => c.getBoundingClientRect()).map(r => [r.left, r.top, r.right, r.bottom])"
    )
    assert len(boxes) == 10
    for i, a in enumerate(boxes):
        assert a[2] - a[0] > 8 and a[3] - a[1] > 8
        for b in boxes[i + 1 :]:
            overlap = min(a[2], b[2]) - max(a[0], b[0]) > 0 and min(a[3], b[3]) - max(a[1], b[1]) > 0
            assert not overlap, (a, b)
    numbers = [t.text for t in driver.find_elements(By.CSS_SELECTOR, "#chart-stance g.event text")]
    assert numbers == [str(n) for n in range(1, 11)]
    listed = driver.find_elements(By.CSS_SELECTOR, "section.timeline ol.events li .num")
    assert [n.text for n in listed] == numbers  # the key to the markers, in the same card
    # Every article shows its publication date, and the header gives the coverage span.
    dates = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "table.matches td.when time")]
    assert len(dates) == len(long_string_matches())
    assert all(re.fullmatch(r"\d\d [A-Z][a-z]{2} \d{4}\n\d\d:\d\d", d) for d in dates)
    assert "coverage 06 Nov 2025" in driver.find_element(By.CSS_SELECTOR, "header .meta").text
    assert _severe(driver) == []


def test_screenshot_is_a_real_page(driver: Any, tmp_path: Path, report_page: str) -> None:
    _open(driver, tmp_path, report_page)
    png = driver.get_screenshot_as_png()
    shot = tmp_path / "report.png"
    shot.write_bytes(png)
    width, height = _png_size(png)
    assert (width, height) == tuple(driver.execute_script("return [innerWidth, innerHeight]"))
    assert len(png) > 40_000, f"suspiciously small screenshot ({len(png)} bytes)"

    _shoot(driver, SCREENSHOT)
    stats = _pixel_stats(driver, png)
    # A blank or single-colour page has a handful of colours and no ink; text and a chart have hundreds.
    assert stats["colours"] > 200, stats
    assert 0.01 < stats["ink"] < 0.5, stats


def _shoot(driver: Any, path: Path) -> None:
    """A full-page rendering for people to look at."""
    full = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(int(full) + 40, 6000))
    try:
        path.write_bytes(driver.get_screenshot_as_png())
    except OSError:
        pass  # a read-only /tmp must not fail the suite
    finally:
        driver.set_window_size(1280, 1000)


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _pixel_stats(driver: Any, png: bytes) -> dict[str, float]:
    """Distinct colours and the share of non-background pixels, decoded by the browser's own PNG decoder."""
    driver.get("about:blank")
    script = """
        const [b64, done] = arguments;
        const img = new Image();
        img.onerror = () => done(null);
        img.onload = () => {
            const c = document.createElement("canvas");
            c.width = img.width; c.height = img.height;
            const ctx = c.getContext("2d");
            ctx.drawImage(img, 0, 0);
            const d = ctx.getImageData(0, 0, c.width, c.height).data;
            const seen = new Set();
            let ink = 0;
            for (let i = 0; i < d.length; i += 4) {
                const px = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
                seen.add(px);
                const diff = Math.abs(d[i] - d[0]) + Math.abs(d[i + 1] - d[1]) + Math.abs(d[i + 2] - d[2]);
                if (diff > 60) ink++;
            }
            done({colours: seen.size, ink: ink / (d.length / 4)});
        };
        img.src = "data:image/png;base64," + b64;
    """
    stats = driver.execute_async_script(script, base64.b64encode(png).decode("ascii"))
    assert stats is not None, "the screenshot is not a valid PNG"
    return dict(stats)
