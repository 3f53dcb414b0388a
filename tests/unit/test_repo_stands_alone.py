"""The repository stands alone: no text points at a document a user who clones it does not have.

Scans include/, tests/, benchmarks/, scripts/, docs/, README.md, specs/README.md and the Makefile, and
reports:

- a path into the development machines' shared folder (``FORBIDDEN``);
- a Markdown file name that is not a file of the repository, resolved against the folder of the file
  that names it, the repository root and ``docs/`` (names inside URLs are other sites' files);
- a section reference (a Markdown file name followed by ``§`` and a heading's number or title, e.g.
  ``§A.9`` or ``§State store``; chained as ``§A.1, §A.2``) naming a heading that file does not have.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCAN_DIRS = ("include", "tests", "benchmarks", "scripts", "docs")
SCAN_FILES = ("README.md", "Makefile", "specs/README.md")
TEXT_SUFFIXES = {".py", ".md", ".txt", ".sh", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".mako", ".json", ""}
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules"}
# Built from parts so this file does not match its own patterns.
FORBIDDEN = ("../" + "shared", "shared/" + "reference", "/work/" + "shared")

MD_NAME = re.compile(r"[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md(?![A-Za-z0-9_])")
SECTION_START = re.compile(r"[`'\")\]]*[ \t]*§[ \t]*")
SECTION_NEXT = re.compile(r"[ \t]*(?:,|;|/|&|and|or)[ \t]*§[ \t]*")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$")
NUMBERED = re.compile(r"^((?:[A-Z]\.)?\d+(?:\.\d+)*|[A-Z])\.?[ \t]+(.+)$")


def scanned_files(root: Path) -> Iterator[Path]:
    for name in SCAN_FILES:
        if (root / name).is_file():
            yield root / name
    for top in SCAN_DIRS:
        for path in sorted((root / top).rglob("*")):
            parts = set(path.relative_to(root).parts)
            if parts & SKIP_DIRS or any(part.endswith(".egg-info") for part in parts):
                continue
            if path.is_file() and path.suffix in TEXT_SUFFIXES:
                yield path


def heading_keys(markdown: str) -> list[str]:
    """Every way a heading can be cited: its whole text, its number and its title (lower case)."""
    keys: set[str] = set()
    in_code = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        match = HEADING.match(line)
        if in_code or not match:
            continue
        text = match.group(1)
        keys.add(text.lower())
        numbered = NUMBERED.match(text)
        if numbered:
            keys.update({numbered.group(1).lower(), numbered.group(2).lower()})
    return sorted(keys, key=len, reverse=True)  # longest first: "1.14" before "1.1"


def _ends_word(text: str, end: int) -> bool:
    """No letter or digit continues the name ("A.7" is not "A.70"; "1.1." at a sentence end is "1.1")."""
    if end >= len(text):
        return True
    if text[end].isalnum():
        return False
    return not (text[end] == "." and end + 1 < len(text) and text[end + 1].isalnum())


def _resolve(name: str, root: Path, referrer: Path) -> Path | None:
    for base in (referrer.parent, root, root / "docs"):
        candidate = (base / name).resolve()
        if candidate.is_file() and candidate.is_relative_to(root):
            return candidate
    return None


def _in_url(text: str, start: int, end: int) -> bool:
    word_start = max(text.rfind(ch, 0, start) for ch in " \t\n(<[\"'`") + 1
    return "://" in text[word_start:end]


def problems(root: Path, files: Iterable[Path]) -> list[str]:
    root = root.resolve()
    found: list[str] = []
    headings: dict[Path, list[str]] = {}
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        where = path.resolve().relative_to(root)

        def report(pos: int, message: str, where: Path = where, text: str = text) -> None:
            found.append(f"{where}:{text.count(chr(10), 0, pos) + 1}: {message}")

        for pattern in FORBIDDEN:
            for match in re.finditer(re.escape(pattern), text):
                report(match.start(), f"points outside the repository ({pattern!r})")
        for match in MD_NAME.finditer(text):
            name = match.group(0)
            if _in_url(text, match.start(), match.end()):
                continue
            target = _resolve(name, root, path)
            if target is None:
                report(match.start(), f"{name} is not a file of the repository")
                continue
            if target.suffix != ".md":
                continue
            pos = match.end()
            step = SECTION_START.match(text, pos)
            while step:
                pos = step.end()
                if target not in headings:
                    headings[target] = heading_keys(target.read_text(encoding="utf-8"))
                rest = text[pos:pos + 200].lower()
                key = next((k for k in headings[target] if rest.startswith(k) and _ends_word(rest, len(k))), None)
                if key is None:
                    cited = text[pos:pos + 40].split("\n")[0]
                    report(pos, f"{name} has no section matching §{cited!r}")
                    break
                pos += len(key)
                step = SECTION_NEXT.match(text, pos)
    return found


def test_repository_stands_alone() -> None:
    found = problems(ROOT, scanned_files(ROOT))
    assert not found, "references to documents or sections that are not in the repository:\n" + "\n".join(found)


def test_docs_exist() -> None:
    for name in ("architecture.md", "README.md", "vendors/autotask.md", "vendors/connectwise.md",
                 "vendors/tdsynnex.md", "vendors/crayon.md", "vendors/pax8.md"):
        assert (ROOT / "docs" / name).is_file(), name


def test_the_check_catches_bad_references(tmp_path: Path) -> None:
    """The checker itself: each kind of bad reference is reported, good ones are not."""
    md = ".md"
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / f"guide{md}").write_text(
        "# Guide\n\n## 1. Limits\n\n## A.5 Query language\n\n```\n## not a heading\n```\n", encoding="utf-8"
    )
    (tmp_path / "src").mkdir()
    lines = [
        f"ok: docs/guide{md} §Limits, docs/guide{md} §1, docs/guide{md} §A.5 (paging), see guide{md}",
        f"ok: docs/guide{md} §query language. And https://example.com/notes/other{md} is a URL",
        "bad: see " + "../" + "shared/DESIGN" + md,
        f"bad: gone{md} names nothing",
        f"bad: docs/guide{md} §A.50 is not A.5",
        f"bad: docs/guide{md} §A.5, §Nope",
        f"bad: docs/guide{md} §not a heading",
    ]
    (tmp_path / "src" / "module.py").write_text("\n".join(lines) + "\n", encoding="utf-8")

    found = problems(tmp_path, [tmp_path / "src" / "module.py", tmp_path / "docs" / f"guide{md}"])

    assert [entry.split(": ")[0] for entry in found] == [
        "src/module.py:3",  # the shared folder
        "src/module.py:3",  # ... and a document that is not here
        "src/module.py:4",
        "src/module.py:5",
        "src/module.py:6",
        "src/module.py:7",
    ], found
    assert "outside the repository" in found[0]
    assert "§'Nope'" in found[4]
