"""Every emulator the sandbox server hosts, by path prefix. Add one line per emulator."""

from __future__ import annotations

from collections.abc import Iterable

from channelsync.imports import load_object
from channelsync.sandbox.framework import Emulator

# prefix → "module:Class"; the prefix is the first path segment (matched case-insensitively).
EMULATORS: dict[str, str] = {
    "crayon": "channelsync.sandbox.crayon:CrayonEmulator",
    "pax8": "channelsync.sandbox.pax8:Pax8Emulator",
    "autotask": "channelsync.sandbox.autotask:AutotaskEmulator",
    "connectwise": "channelsync.sandbox.connectwise:ConnectWiseEmulator",
    "tdsynnex": "channelsync.sandbox.tdsynnex:TdSynnexEmulator",
}


def load_emulator_classes(systems: Iterable[str] | None = None) -> dict[str, type[Emulator]]:
    """The emulator classes by prefix; ``systems`` limits them (tests of one emulator serve only it)."""
    wanted = set(systems) if systems is not None else set(EMULATORS)
    unknown = wanted - set(EMULATORS)
    if unknown:
        raise ValueError(f"no emulator for {', '.join(sorted(unknown))}; known: {', '.join(EMULATORS)}")
    classes: dict[str, type[Emulator]] = {}
    for prefix, target in EMULATORS.items():
        if prefix not in wanted:
            continue
        classes[prefix] = load_object(target)
    return classes
