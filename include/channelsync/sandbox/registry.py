"""Every emulator the sandbox server hosts, by path prefix. Add one line per emulator."""

from __future__ import annotations

import importlib

from channelsync.sandbox.framework import Emulator

# prefix → "module:Class"; the prefix is the first path segment (matched case-insensitively).
EMULATORS: dict[str, str] = {
    "crayon": "channelsync.sandbox.crayon:CrayonEmulator",
    "pax8": "channelsync.sandbox.pax8:Pax8Emulator",
    "autotask": "channelsync.sandbox.autotask:AutotaskEmulator",
    "connectwise": "channelsync.sandbox.connectwise:ConnectWiseEmulator",
    "tdsynnex": "channelsync.sandbox.tdsynnex:TdSynnexEmulator",
}


def load_emulator_classes() -> dict[str, type[Emulator]]:
    classes: dict[str, type[Emulator]] = {}
    for prefix, target in EMULATORS.items():
        module_name, _, class_name = target.partition(":")
        classes[prefix] = getattr(importlib.import_module(module_name), class_name)
    return classes
