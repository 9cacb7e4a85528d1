"""What every table's Markdown shares: the line saying which data made it, and its standalone HTML page.

The HTML page is what `snakemake --report` embeds (it renders HTML, not Markdown); it is made from the Markdown
file itself, so the two can never disagree.
"""

from __future__ import annotations

import html
from pathlib import Path

from .io import atomic_write_text

PAGE_STYLE = """
body { font-family: system-ui, sans-serif; font-size: 14px; margin: 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #bbb; padding: 3px 8px; }
th { background: #eee; }
td { text-align: right; font-variant-numeric: tabular-nums; }
td:first-child { text-align: left; }
p.data { font-style: italic; color: #444; }
"""


def with_data_line(markdown: str, statement: str) -> str:
    """The table's Markdown with `statement` as its first paragraph under the title heading (if it has one)."""
    line = f"_Data: {statement}_"
    lines = markdown.splitlines()
    if lines and lines[0].startswith("# "):
        return "\n".join([lines[0], "", line, *lines[1:]]).rstrip() + "\n"
    return f"{line}\n\n{markdown.rstrip()}\n"


def html_page(markdown: str, title: str) -> str:
    """A standalone HTML page of a table's Markdown (pipe tables included)."""
    import markdown as md

    body = md.markdown(markdown, extensions=["tables"], output_format="html")
    body = body.replace("<p><em>Data:", '<p class="data"><em>Data:', 1)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{PAGE_STYLE}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def write_table(markdown_path: Path | str, markdown: str, data: str, title: str) -> None:
    """A table's Markdown, with the line naming its data, and beside it the same as an HTML page (`.html`)."""
    path = Path(markdown_path)
    text = with_data_line(markdown, data)
    atomic_write_text(path, text)
    atomic_write_text(path.with_suffix(".html"), html_page(text, title))
