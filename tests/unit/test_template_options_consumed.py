"""No option is silently ignored: every field of every template's options model (nested models too) is
read by that template's code.

"Read" is checked in the code itself (an attribute load ``.name``, or ``getattr(x, "name")``), not in a
list someone keeps next to it: options a template declares must be read in its own package (options.py
aside); the options every template shares (``TemplateOptions``: ``load``) must be read by the run shape
(``runs/``, ``templates/dag_builder.py``). Checking by name is coarse (any ``.name`` counts), so the
scopes are kept narrow: a template's package never counts for another template.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from channelsync.templates.options_common import TemplateOptions
from channelsync.templates.registry import TEMPLATES

PACKAGE = Path(__file__).resolve().parents[2] / "include" / "channelsync"
RUN_SHAPE = [*sorted((PACKAGE / "runs").glob("*.py")), PACKAGE / "templates" / "dag_builder.py"]
# Options known to be accepted and ignored, with who must fix it. The test fails when one is fixed (or
# gone) too, so this stays exact. Keep it empty.
KNOWN_UNREAD: dict[tuple[str, str], str] = {
}


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):  # Optional[Model], Model | None
        found = _model_of(argument)
        if found is not None:
            return found
    return None


def option_paths(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, attribute name) of every field, nested option models included."""
    for name, info in model.model_fields.items():
        yield prefix + name, name
        nested = _model_of(info.annotation)
        if nested is not None:
            yield from option_paths(nested, f"{prefix}{name}.")


def names_read(files: list[Path]) -> set[str]:
    names: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                names.add(node.attr)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                    and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                names.add(str(node.args[1].value))
    return names


def template_files(template: str) -> list[Path]:
    module = TEMPLATES[template].steps.partition(":")[0]
    package = PACKAGE.parent / Path(*module.split(".")[:-1])
    return [path for path in sorted(package.glob("*.py")) if path.name != "options.py"]


def unread_options(template: str) -> set[str]:
    own, shared = names_read(template_files(template)), names_read(RUN_SHAPE)
    unread = set()
    for path, name in option_paths(TEMPLATES[template].options_model):
        scope = shared if path.split(".")[0] in TemplateOptions.model_fields else own
        if name not in scope:
            unread.add(path)
    return unread


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_option_is_read_by_its_template(template: str) -> None:
    known = {path for (name, path) in KNOWN_UNREAD if name == template}
    unread = unread_options(template)
    assert unread - known == set(), (
        f"{template} accepts option(s) {sorted(unread - known)} that its code never reads: implement them, "
        "or remove them from the options model")
    assert known - unread == set(), f"{template}: {sorted(known - unread)} are read now; drop them from KNOWN_UNREAD"


def test_the_check_sees_an_ignored_option() -> None:
    class Probe(TemplateOptions):
        category_map: dict[str, str] = {}
        never_read_anywhere_xyz: bool = False

    paths = {path for path, _ in option_paths(Probe)}
    assert {"load.concurrency", "category_map", "never_read_anywhere_xyz"} <= paths
    assert "never_read_anywhere_xyz" not in names_read(template_files("catalog_sync"))
    assert "sync_inventory" in names_read(template_files("catalog_sync"))
    assert "sync_inventory" not in names_read(RUN_SHAPE)
