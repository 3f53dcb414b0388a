"""The Crayon wire's casing, checked by the Crayon tests."""

from __future__ import annotations

from typing import Any


def assert_pascal(value: Any, where: str = "body") -> None:
    """Every property name, at every depth, starts with a capital letter (the live API's casing)."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert key[:1].isupper(), f"{where}.{key} is not PascalCase"
            assert_pascal(item, f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            assert_pascal(item, where)
