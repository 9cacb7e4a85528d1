"""Open a Snakemake HTML report in a real browser and check that every result in it renders.

The report is a single-page app: nothing of a result is in the DOM until it is opened. The check clicks through
it as a reader would, in headless Chromium driven by Playwright: each category of the menu, then the view button
of each result. An HTML result (a table's page) must show at least one table with body rows, an image must
decode to a non-empty bitmap. A screenshot of each opened result is kept.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import CtcbenchError

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
# Chromium on a closed network: no background connections, no sandbox (CI runs as root), no GPU.
CHROMIUM_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
)  # fmt: skip
TIMEOUT_MS = 30_000
RESULT_ROWS = "nav table tbody tr"  # a category's results: file name, then the view and info buttons


class BrowserCheckError(CtcbenchError):
    """The report did not render as it should, or no browser could be started."""


@dataclass(frozen=True)
class RenderedResult:
    category: str
    name: str
    kind: str  # "table" or "image"
    detail: str  # the table's heading and row count, or the image's size
    screenshot: Path


def find_chromium() -> str | None:
    return next((found for name in CHROMIUM_CANDIDATES if (found := shutil.which(name))), None)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def _menu_categories(page) -> list[str]:
    """The result categories, in the menu's order."""
    return page.evaluate("() => Object.keys(categories).sort((a, b) => a.localeCompare(b))")


def _open_category(page, category: str) -> None:
    """The category's list of results in the side bar (what its menu entry opens)."""
    # Back to the menu first, as the home button does: a results list keeps the category it was made for.
    page.evaluate("() => app.setView({navbarMode: 'menu'})")
    page.wait_for_function("() => !document.querySelector('nav table')", timeout=TIMEOUT_MS)
    page.evaluate("category => app.showCategory(category)", category)
    page.wait_for_function(
        "category => (document.querySelector('nav ol') || {}).innerText.includes(category)", arg=category,
        timeout=TIMEOUT_MS,
    )  # fmt: skip
    page.wait_for_selector(RESULT_ROWS, timeout=TIMEOUT_MS)


def _result_rows(page):
    return page.locator(RESULT_ROWS)


def _shown(page, tag: str, path: str):
    """The iframe or img that displays the result `path` (its source is the result's embedded data URI)."""
    uri = page.evaluate("path => results[path].data_uri", path)
    return page.wait_for_function(
        "([tag, uri]) => Array.from(document.querySelectorAll(tag)).find(node => node.src === uri)",
        arg=[tag, uri], timeout=TIMEOUT_MS,
    ).as_element()  # fmt: skip


def _check_table(page, path: str) -> str:
    """The opened HTML result: its frame must hold a table with rows; returns its heading and row count."""
    frame_element = _shown(page, "iframe", path)
    frame = frame_element.content_frame()
    frame.wait_for_selector("table tbody tr", timeout=TIMEOUT_MS)
    rows = frame.locator("table tbody tr").count()
    heading = frame.locator("h1").first.inner_text() if frame.locator("h1").count() else frame.title()
    if rows == 0:
        raise BrowserCheckError(f"{heading}: the page shows no table row")
    return f"{heading}: {rows} table rows"


def _check_image(page, path: str) -> str:
    image = _shown(page, "img", path)
    image.evaluate("img => img.decode()")
    width, height = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    if not width or not height:
        raise BrowserCheckError("an image of the report does not decode")
    return f"{width} x {height} px"


def check_report(
    report: Path, screenshots: Path, chromium: str | None = None, on_result: Callable[[str], None] = print
) -> list[RenderedResult]:
    """Open every result of every category of `report`; raise BrowserCheckError on the first that fails.
    `on_result` hears of each result before it is opened and once it rendered."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    executable = chromium or find_chromium()
    if executable is None:
        raise BrowserCheckError("no Chromium found (install Debian's `chromium` package, or pass --chromium)")
    if not report.is_file():
        raise BrowserCheckError(f"{report}: no such report; make it with `snakemake --report {report}`")
    screenshots.mkdir(parents=True, exist_ok=True)
    rendered: list[RenderedResult] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(report.resolve().as_uri())
            page.wait_for_function("() => typeof categories !== 'undefined'", timeout=TIMEOUT_MS)
            for category in _menu_categories(page):
                _open_category(page, category)
                for index in range(_result_rows(page).count()):
                    row = _result_rows(page).nth(index)
                    path = row.locator("td").first.inner_text().strip()
                    name = Path(path).name
                    on_result(f"{category} / {name}: opening")
                    row.locator("a[iconname=eye]").click()
                    is_html = name.endswith(".html")
                    detail = _check_table(page, path) if is_html else _check_image(page, path)
                    shot = screenshots / f"{_slug(category)}--{_slug(name)}.png"
                    page.screenshot(path=str(shot), full_page=False)
                    rendered.append(RenderedResult(category, name, "table" if is_html else "image", detail, shot))
                    on_result(f"{category} / {name}: {rendered[-1].kind}, {detail}")
            browser.close()
    except PlaywrightError as exc:
        raise BrowserCheckError(f"{report}: the browser check failed: {str(exc).splitlines()[0]}") from exc
    return rendered
