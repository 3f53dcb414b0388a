"""System name → hook class, resolved lazily (hooks import Airflow)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

HOOKS: dict[str, str] = {
    "autotask": "channelsync.hooks.autotask:AutotaskHook",
    "connectwise": "channelsync.hooks.connectwise:ConnectWiseHook",
    "tdsynnex_xml": "channelsync.hooks.tdsynnex:TdSynnexXmlHook",
    "tdsynnex_ion": "channelsync.hooks.tdsynnex:TdSynnexIonHook",
    "crayon": "channelsync.hooks.crayon:CrayonHook",
    "pax8": "channelsync.hooks.pax8:Pax8Hook",
}


def hook_for(system: str) -> Any:
    module_name, _, class_name = HOOKS[system].partition(":")
    return getattr(import_module(module_name), class_name)
