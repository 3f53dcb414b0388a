"""The error catalog as the pages show it: every code the engine defines, with who acts first.

Codes are declared with :func:`channelsync.errors.define` next to the code that raises them, so the
catalog is complete only once those modules are imported; :func:`entries` imports every module of the
package that declares one (found by reading the sources, not by a list to keep up to date). Fields the
catalog does not carry yet (explanation, action, first responder) fall back to what the code's system
implies, so a new code shows up with sensible advice instead of blanks.
"""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # include/channelsync
_DECLARES = re.compile(r"\bdefine(?:_transport_codes)?\(")
# The emulators declare no production codes, and the UI itself none.
_SKIP = ("sandbox", "ui")

# Who acts first when the catalog does not say: the owner of the system the error came from.
FIRST_RESPONDER_BY_SYSTEM = {
    "autotask": "PSA admin",
    "connectwise": "PSA admin",
    "tdsynnex": "distributor support",
    "crayon": "distributor support",
    "pax8": "distributor support",
    "channelsync": "channelsync operator",
}
DEFAULT_FIRST_RESPONDER = "channelsync operator"


@dataclass(frozen=True)
class CatalogEntry:
    code: str
    system: str
    title: str
    explanation: str
    action: str
    first_responder: str
    rerun_fixes: bool | None  # None: the catalog does not say
    known: bool  # False: the code was recorded but nobody defined it


def _text(entry: object, *names: str) -> str:
    for name in names:
        value = getattr(entry, name, None)
        if value:
            return str(value)
    return ""


def _from_definition(definition: object) -> CatalogEntry:
    system = _text(definition, "system") or "channelsync"
    summary = _text(definition, "summary", "title")
    rerun = next((getattr(definition, name) for name in ("rerun_fixes", "rerun_can_fix", "rerunnable", "rerun")
                  if isinstance(getattr(definition, name, None), bool)), None)
    return CatalogEntry(
        code=_text(definition, "code"),
        system=system,
        title=_text(definition, "title", "summary"),
        explanation=_text(definition, "explanation", "summary") or summary,
        action=_text(definition, "action"),
        first_responder=_text(definition, "first_responder")
        or FIRST_RESPONDER_BY_SYSTEM.get(system, DEFAULT_FIRST_RESPONDER),
        rerun_fixes=rerun if isinstance(rerun, bool) else None,
        known=True,
    )


def _unknown(code: str) -> CatalogEntry:
    return CatalogEntry(code=code, system="unknown", title=code,
                        explanation="This code is not in the error catalog; the message is all there is.",
                        action="Read the message and the task log; add the code to the catalog.",
                        first_responder=DEFAULT_FIRST_RESPONDER, rerun_fixes=None, known=False)


def _declaring_modules() -> list[str]:
    modules = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        relative = path.relative_to(PACKAGE_ROOT)
        if relative.parts[0] in _SKIP:
            continue
        try:
            if not _DECLARES.search(path.read_text(encoding="utf-8")):
                continue
        except OSError:
            continue
        parts = ["channelsync", *relative.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules.append(".".join(parts))
    return modules


@lru_cache(maxsize=1)
def _load_all() -> None:
    for name in _declaring_modules():
        try:
            importlib.import_module(name)
        except Exception:  # one broken module must not hide the rest of the catalog
            log.warning("error catalog: could not import %s", name, exc_info=True)


def entries() -> list[CatalogEntry]:
    """Every defined code, sorted."""
    from channelsync.errors import CATALOG

    _load_all()
    return sorted((_from_definition(d) for d in CATALOG.values()), key=lambda e: e.code)


def describe(code: str | None) -> CatalogEntry | None:
    """The catalog's entry for ``code`` (an entry marked unknown when nobody defined it)."""
    if not code:
        return None
    from channelsync.errors import CATALOG

    definition = CATALOG.get(code)
    if definition is None:
        _load_all()
        definition = CATALOG.get(code)
    return _from_definition(definition) if definition is not None else _unknown(code)


def search(query: str, catalog: list[CatalogEntry]) -> list[CatalogEntry]:
    """Entries whose code, title, explanation, action, system or first responder contain every word."""
    words = [w for w in query.lower().split() if w]
    if not words:
        return catalog

    def haystack(entry: CatalogEntry) -> str:
        return " ".join((entry.code, entry.title, entry.explanation, entry.action, entry.system,
                         entry.first_responder)).lower()

    return [entry for entry in catalog if all(word in haystack(entry) for word in words)]
