"""Every `docs/<page>.md#<anchor>` that the code, the rules and the README cite resolves inside the repository."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITATION = re.compile(r"docs/([a-z_-]+\.md)(?:#([a-z0-9-]+))?")


def anchors(page: Path) -> set[str]:
    text = page.read_text()
    explicit = set(re.findall(r'<a id="([^"]+)"></a>', text))
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in text.splitlines()
        if line.startswith("#")
    }
    return explicit | headings


def test_every_cited_docs_section_exists():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    sources = [f for f in tracked if f.endswith((".py", ".smk", ".yaml", ".rst", "README.md")) and "tests/" not in f]
    cited: dict[tuple[str, str | None], str] = {}
    for name in sources:
        for match in CITATION.finditer((ROOT / name).read_text()):
            cited.setdefault((match[1], match[2]), name)
    assert len(cited) > 50  # the code cites the docs throughout
    missing = [
        f"{source}: docs/{page}#{anchor}"
        for (page, anchor), source in sorted(cited.items(), key=str)
        if not (ROOT / "docs" / page).is_file() or (anchor and anchor not in anchors(ROOT / "docs" / page))
    ]
    assert missing == []


def test_no_citation_points_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    outside = [
        name
        for name in tracked
        if name.endswith((".py", ".smk", ".md", ".yaml", ".rst"))
        and not name.startswith("tests/")
        and re.search(r"reference-spec|design §", (ROOT / name).read_text())
    ]
    assert outside == []
