"""Dependency direction: production code never imports the sandbox (the emulators import the production
layouts, e.g. the TD SYNNEX flat-file layout lives in ``channelsync.clients.tdsynnex.flatfile_layout``)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "include" / "channelsync"
# The ``channelsync sandbox serve`` command starts the emulators (a lazy import inside that command).
ALLOWED = {"cli/main.py"}


def _sandbox_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [name for name in names if name == "channelsync.sandbox" or name.startswith("channelsync.sandbox.")]
    return found


def test_no_production_module_imports_the_sandbox() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): imports
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] != "sandbox"
        and str(path.relative_to(PACKAGE)) not in ALLOWED
        and (imports := _sandbox_imports(path))
    }
    assert offenders == {}
