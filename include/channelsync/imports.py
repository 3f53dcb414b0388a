"""``load_object("package.module:Name")``: the one way channelsync turns an import path into an object
(template steps, hooks, sandbox emulators), so the modules behind it are imported only when needed."""

from __future__ import annotations

from importlib import import_module
from typing import Any


def load_object(path: str) -> Any:
    module_name, sep, attribute = path.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"import path {path!r} must look like 'package.module:Name'")
    target: Any = import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target
